// Envelope decoding, names of types and codes, and the RUN checks.
#include "proto/messages.hpp"

#include <openssl/evp.h>

#include <array>
#include <typeinfo>

namespace loads::proto {
namespace {

struct TypeName {
  MessageType type;
  std::string_view name;
};

constexpr std::array kTypeNames = {
    TypeName{MessageType::kRun, "RUN"},
    TypeName{MessageType::kRunAccepted, "RUN-ACCEPTED"},
    TypeName{MessageType::kRunRefused, "RUN-REFUSED"},
    TypeName{MessageType::kAgentDone, "AGENT-DONE"},
    TypeName{MessageType::kAgentLost, "AGENT-LOST"},
    TypeName{MessageType::kStop, "STOP"},
    TypeName{MessageType::kStopped, "STOPPED"},
    TypeName{MessageType::kPurge, "PURGE"},
    TypeName{MessageType::kPurged, "PURGED"},
    TypeName{MessageType::kPing, "PING"},
    TypeName{MessageType::kPong, "PONG"},
    TypeName{MessageType::kHeartbeat, "HEARTBEAT"},
    TypeName{MessageType::kDisconnect, "DISCONNECT"},
    TypeName{MessageType::kError, "ERROR"},
    TypeName{MessageType::kHello, "HELLO"},
    TypeName{MessageType::kWelcome, "WELCOME"},
    TypeName{MessageType::kJob, "JOB"},
    TypeName{MessageType::kNeedLibrary, "NEED-LIBRARY"},
    TypeName{MessageType::kJobEnded, "JOB-ENDED"},
    TypeName{MessageType::kRebalance, "REBALANCE"},
    TypeName{MessageType::kResults, "RESULTS"},
    TypeName{MessageType::kStopTestRun, "STOP-TEST-RUN"},
    TypeName{MessageType::kLibraryPart, "LIBRARY-PART"},
    TypeName{MessageType::kSummary, "SUMMARY"},
};

bool referenceAll(msgpack::type::object_type, std::size_t, void*) { return true; }

// Counts the values an unpack would create, from the declared sizes of arrays and maps,
// without creating any; stops at the first container past the limits.
class ValueCounter : public msgpack::null_visitor {
 public:
  explicit ValueCounter(const DecodeLimits& limits) : limits_(limits) {}
  bool start_array(std::uint32_t elements) { return add(elements); }
  bool end_array() { return --depth_, true; }
  bool start_map(std::uint32_t entries) { return add(2 * std::uint64_t{entries}); }
  bool end_map() { return --depth_, true; }
  bool tooMany() const { return values_ > limits_.maxObjects; }

 private:
  bool add(std::uint64_t values) {
    values_ += values;
    return !tooMany() && ++depth_ <= limits_.maxDepth;
  }
  const DecodeLimits& limits_;
  std::uint64_t values_ = 1;  // the root
  std::size_t depth_ = 0;
};

// The envelope's fixed part: [protocol, version, type, body, *extension].
Decoded<Envelope> checkEnvelope(const msgpack::object& root) {
  using R = Decoded<Envelope>;
  if (root.type != msgpack::type::ARRAY || root.via.array.size < 4) {
    return R::failure(ErrorCode::kMalformed, "not a LOADS envelope (expected an array of 4)");
  }
  const msgpack::object* items = root.via.array.ptr;
  if (items[0].type != msgpack::type::STR ||
      std::string_view(items[0].via.str.ptr, items[0].via.str.size) != kProtocolName) {
    return R::failure(ErrorCode::kMalformed, "not a LOADS envelope (no \"LOADS\" protocol name)");
  }
  if (items[1].type != msgpack::type::POSITIVE_INTEGER || items[2].type != msgpack::type::STR) {
    return R::failure(ErrorCode::kMalformed, "LOADS envelope with a bad version or type field");
  }
  Envelope envelope;
  envelope.version =
      items[1].via.u64 > 0xffffffffu ? 0xffffffffu : static_cast<std::uint32_t>(items[1].via.u64);
  envelope.typeName.assign(items[2].via.str.ptr, items[2].via.str.size);
  if (envelope.version != kProtocolVersion) {
    return R::failure(ErrorCode::kVersionMismatch,
                      "this peer speaks LOADS protocol " + std::to_string(kProtocolVersion) +
                          ", the other side sent version " + std::to_string(envelope.version) +
                          ": run the same loads release on masters, broker and agents");
  }
  envelope.type = messageTypeFromName(envelope.typeName);
  if (envelope.type == MessageType::kUnknown) {
    return R::failure(ErrorCode::kUnknownType,
                      "unknown LOADS message type \"" + envelope.typeName.substr(0, 40) + "\"");
  }
  if (items[3].type != msgpack::type::ARRAY) {
    return R::failure(ErrorCode::kMalformed, envelope.typeName + " body is not an array");
  }
  envelope.body = items[3];
  return R::success(std::move(envelope));
}

}  // namespace

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kNone:
      return "OK";
    case ErrorCode::kMalformed:
      return "MALFORMED";
    case ErrorCode::kUnknownRun:
      return "UNKNOWN-RUN";
    case ErrorCode::kUnexpected:
      return "UNEXPECTED";
    case ErrorCode::kNotRegistered:
      return "NOT-REGISTERED";
    case ErrorCode::kDuplicate:
      return "DUPLICATE";
    case ErrorCode::kTooLarge:
      return "TOO-LARGE";
    case ErrorCode::kVersionMismatch:
      return "VERSION-MISMATCH";
    case ErrorCode::kInternal:
      return "INTERNAL";
    case ErrorCode::kUnknownType:
      return "UNKNOWN-TYPE";
    case ErrorCode::kNotEnoughAgents:
      return "NOT-ENOUGH-AGENTS";
  }
  return "UNKNOWN-CODE";
}

std::string_view messageTypeName(MessageType type) {
  for (const auto& entry : kTypeNames) {
    if (entry.type == type) return entry.name;
  }
  return "UNKNOWN";
}

MessageType messageTypeFromName(std::string_view name) {
  for (const auto& entry : kTypeNames) {
    if (entry.name == name) return entry.type;
  }
  return MessageType::kUnknown;
}

namespace detail {
std::string describeException(const std::exception& e) {
  if (dynamic_cast<const msgpack::type_error*>(&e)) return "a field has the wrong type";
  if (dynamic_cast<const std::bad_alloc*>(&e)) return "too large to decode";
  return e.what();
}
}  // namespace detail

Decoded<Envelope> decodeEnvelope(std::string_view bytes, const DecodeLimits& limits,
                                 bool reference) {
  using R = Decoded<Envelope>;
  if (bytes.size() > limits.maxMessageSize) {
    return R::failure(ErrorCode::kTooLarge, "message of " + std::to_string(bytes.size()) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(limits.maxMessageSize));
  }
  if (bytes.empty()) return R::failure(ErrorCode::kMalformed, "empty message");
  try {
    ValueCounter counter(limits);
    std::size_t counted = 0;
    msgpack::parse(bytes.data(), bytes.size(), counted, counter);
    if (counter.tooMany()) {
      return R::failure(ErrorCode::kTooLarge, "message of more than " +
                                                  std::to_string(limits.maxObjects) +
                                                  " msgpack values refused unread");
    }
    const msgpack::unpack_limit unpackLimit(limits.maxArray, limits.maxMap, limits.maxMessageSize,
                                            limits.maxMessageSize, limits.maxMessageSize,
                                            limits.maxDepth);
    std::size_t offset = 0;
    msgpack::object_handle handle =
        msgpack::unpack(bytes.data(), bytes.size(), offset, reference ? referenceAll : nullptr,
                        nullptr, unpackLimit);
    if (offset != bytes.size()) {
      return R::failure(ErrorCode::kMalformed, "trailing bytes after the LOADS envelope");
    }
    auto result = checkEnvelope(handle.get());
    if (result) result->zone = std::shared_ptr<msgpack::zone>(handle.zone().release());
    return result;
  } catch (const msgpack::insufficient_bytes&) {
    return R::failure(ErrorCode::kMalformed, "truncated msgpack");
  } catch (const std::exception& e) {
    return R::failure(ErrorCode::kMalformed,
                      "undecodable msgpack: " + detail::describeException(e));
  } catch (...) {
    return R::failure(ErrorCode::kMalformed, "undecodable msgpack");
  }
}

std::string sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[digest[i] >> 4]);
    hex.push_back(kHex[digest[i] & 0xf]);
  }
  return hex;
}

bool isSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

namespace {

std::string validateFiles(const Run& run) {
  const std::vector<DataFile>& files = run.options.files;
  if (files.size() > kMaxDataFiles) {
    return "the RUN includes " + std::to_string(files.size()) + " data files: the cap is " +
           std::to_string(kMaxDataFiles);
  }
  if (run.files.size() != files.size()) {
    return "the RUN names " + std::to_string(files.size()) + " data files and carries " +
           std::to_string(run.files.size());
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    const DataFile& f = files[i];
    if (f.name.empty() || f.name.size() > 255 || f.name == "." || f.name == ".." ||
        f.name.find_first_of(std::string_view("/\0", 2)) != std::string::npos) {
      return "the data file name '" + f.name + "' is not a plain file name";
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (files[j].name == f.name) return "the RUN includes two data files named " + f.name;
    }
    if (!isSha256Hex(f.sha256) || run.files[i].size() != f.size ||
        sha256Hex(run.files[i]) != f.sha256) {
      return "the data file " + f.name + "'s bytes do not match its size and sha256";
    }
  }
  return "";
}

}  // namespace

const Bytes* Run::blob(const std::string& sha256) const {
  if (sha256 == librarySha256) return &library;
  for (std::size_t i = 0; i < options.files.size() && i < files.size(); ++i) {
    if (options.files[i].sha256 == sha256) return &files[i];
  }
  return nullptr;
}

std::string validateRun(const Run& run) {
  if (run.agents == 0 || run.agents > kMaxAgentsPerRun) {
    return "asked for " + std::to_string(run.agents) + " agents: ask for 1 to " +
           std::to_string(kMaxAgentsPerRun);
  }
  if (run.library.empty()) return "the RUN carries no test library";
  if (!isSha256Hex(run.librarySha256)) return "the RUN's library-sha256 is not 64 hex digits";
  if (sha256Hex(run.library) != run.librarySha256) {
    return "the test library's bytes do not match its sha256: it was damaged on the way";
  }
  if (run.resultsEndpoint.empty()) return "the RUN has no results endpoint";
  if (std::string problem = validateFiles(run); !problem.empty()) return problem;
  const ResultsCurve& curve = run.resultsCurve;
  const auto isKey = [](const std::string& k) { return k.size() == 40; };
  const bool plain =
      curve.serverKey.empty() && curve.clientPublic.empty() && curve.clientSecret.empty();
  if (!plain &&
      !(isKey(curve.serverKey) && isKey(curve.clientPublic) && isKey(curve.clientSecret))) {
    return "the RUN's results-curve is neither three 40-character Z85 keys nor empty";
  }
  return "";
}

std::string validateHello(const Hello& hello, ErrorCode& code) {
  code = ErrorCode::kTooLarge;
  const std::pair<const char*, const std::string*> strings[] = {{"agent id", &hello.agentId},
                                                                {"host", &hello.host},
                                                                {"version", &hello.version},
                                                                {"run id", &hello.runId}};
  for (const auto& [name, value] : strings) {
    if (value->size() > kMaxHelloString) {
      return std::string("HELLO with a ") + name + " of " + std::to_string(value->size()) +
             " bytes: the cap on HELLO strings is " + std::to_string(kMaxHelloString) + " bytes";
    }
  }
  if (hello.libraries.size() > kMaxHelloLibraries) {
    return "HELLO lists " + std::to_string(hello.libraries.size()) +
           " cached libraries: the cap on libraries per HELLO is " +
           std::to_string(kMaxHelloLibraries);
  }
  code = ErrorCode::kMalformed;
  if (hello.agentId.empty()) return "HELLO without an agent id";
  for (const std::string& library : hello.libraries) {
    if (!isSha256Hex(library)) {
      return "HELLO lists a cached library \"" + library.substr(0, 80) +
             "\" that is not a sha256 (64 lowercase hex digits)";
    }
  }
  code = ErrorCode::kNone;
  return "";
}

std::string validateRebalance(const Rebalance& rebalance) {
  if (rebalance.count == 0 || rebalance.count > kMaxAgentsPerRun) {
    return "REBALANCE over " + std::to_string(rebalance.count) + " agents: give 1 to " +
           std::to_string(kMaxAgentsPerRun);
  }
  if (rebalance.shares.size() != rebalance.count) {
    return "REBALANCE lists " + std::to_string(rebalance.shares.size()) +
           " agents for a count of " + std::to_string(rebalance.count);
  }
  std::vector<bool> seen(rebalance.count, false);
  for (std::size_t i = 0; i < rebalance.shares.size(); ++i) {
    const RebalanceShare& share = rebalance.shares[i];
    if (share.index >= rebalance.count || seen[share.index]) {
      return "REBALANCE indices must be 0.." + std::to_string(rebalance.count - 1) + ", each once";
    }
    seen[share.index] = true;
    for (std::size_t j = 0; j < i; ++j) {
      if (rebalance.shares[j].agentId == share.agentId) {
        return "REBALANCE lists agent " + share.agentId + " twice";
      }
    }
  }
  if (rebalance.rows.size() > kMaxRowsRuns) {
    return "REBALANCE carries " + std::to_string(rebalance.rows.size()) +
           " runs of rows: at most " + std::to_string(kMaxRowsRuns);
  }
  for (const RowsRun& run : rebalance.rows) {
    if (run.stride == 0 || run.share >= kMaxAgentsPerRun || run.shifts.size() > kMaxFeedShifts) {
      return "REBALANCE rows need a stride of 1 or more, a share below " +
             std::to_string(kMaxAgentsPerRun) + " and at most " + std::to_string(kMaxFeedShifts) +
             " feeds";
    }
  }
  return "";
}

}  // namespace loads::proto
