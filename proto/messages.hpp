// Every LOADS wire message (proto/PROTOCOL.md): one struct per message, its msgpack
// encoding, and decoding that never throws.
//
// This is the only header that defines wire types; broker, agent and master include it.
// A message travels as one ZeroMQ frame holding the envelope
// ["LOADS", kProtocolVersion, type-name, body]. Bodies are the structs below in array
// form. Fields are only ever appended (PROTOCOL.md §3): a reader gives missing trailing
// fields their default and ignores extra ones.
//
// Thread-safety: plain value types and free functions; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace loads::proto {

inline constexpr std::string_view kProtocolName = "LOADS";
inline constexpr std::uint32_t kProtocolVersion = 1;
inline constexpr std::size_t kDefaultMaxMessageSize = 64u << 20;  // 64 MiB: fits a test library
// What the transport takes beyond a message limit: the envelope and framing around the
// body (ZMQ_MAXMSGSIZE is the limit plus this), and the room the unfinished-message guard
// (security::InboundGuard) leaves above one whole frame.
inline constexpr std::size_t kFrameSlack = 64u << 10;
// ZMQ_MAXMSGSIZE for a message limit.
inline constexpr std::size_t frameLimit(std::size_t maxMessageSize) {
  return maxMessageSize + kFrameSlack;
}

// Error codes carried by ERROR and RUN-REFUSED (PROTOCOL.md §7).
enum class ErrorCode : std::uint16_t {
  kNone = 0,
  kMalformed = 400,
  kUnknownRun = 404,
  kUnexpected = 405,
  kNotRegistered = 407,
  kDuplicate = 409,
  kTooLarge = 413,
  kVersionMismatch = 426,
  kInternal = 500,
  kUnknownType = 501,
  kNotEnoughAgents = 503,
};
std::string_view errorCodeName(ErrorCode code);

enum class MessageType : std::uint8_t {
  kUnknown = 0,
  // master <-> broker
  kRun,
  kRunAccepted,
  kRunRefused,
  kAgentDone,
  kAgentLost,
  kStop,
  kStopped,
  kPurge,
  kPurged,
  kPing,
  kPong,
  // master -> broker -> agent
  kRebalance,
  // both sockets
  kHeartbeat,
  kDisconnect,
  kError,
  // agent <-> broker
  kHello,
  kWelcome,
  kJob,
  kNeedLibrary,
  kJobEnded,
  // slave -> master
  kResults,
  kStopTestRun,
  // broker -> agent
  kLibraryPart,
  // slave -> master (--results summary, proto/summary.hpp)
  kSummary,
};
std::string_view messageTypeName(MessageType type);      // "RUN", "RUN-ACCEPTED", ...
MessageType messageTypeFromName(std::string_view name);  // kUnknown if not a LOADS type

using Bytes = std::vector<char>;  // packs as msgpack bin

// ---------------------------------------------------------------- master <-> broker

// A data file shipped with the run (loads-master --include; PROTOCOL.md §5.1): the JOB
// names it, the agent fetches what its cache lacks by sha256 (NEED-LIBRARY).
struct DataFile {
  std::string name;        // what dataFile() is asked for: a file name, no '/'
  std::string sha256;      // of its bytes, 64 lowercase hex digits
  std::uint64_t size = 0;  // its bytes
  MSGPACK_DEFINE_ARRAY(name, sha256, size);
};
inline constexpr std::size_t kMaxDataFiles = 256;  // files per run

// What every agent of a run executes (PROTOCOL.md §5.1).
struct JobOptions {
  std::string tests;              // test selection; "" = all tests of the library
  std::uint32_t users = 1;        // total users over all agents (see usersForAgent)
  std::uint64_t hits = 0;         // hits per user; 0 = until the duration ends
  std::uint64_t durationMs = 0;   // run duration per user; 0 = hits decide
  std::string serverUrl;          // the target server's base URL; "" = test default
  std::uint32_t threads = 0;      // runner threads per agent; 0 = the agent's cores
  std::vector<std::string> args;  // further runner options, passed verbatim; empty
  // Schedules (PROTOCOL.md §5.1): every agent follows its share of the same global
  // schedule from startAtUs. Stages are "duration-ms:target,..." as loads::formatStages.
  std::string rateStages;      // open model: hits/s of the whole run; "" = closed model
  double rateStart = 0;        // open model: the rate at time 0, hits/s; 0
  std::uint32_t maxUsers = 0;  // open model: user pool, total (split as users); 0
  std::string userStages;      // closed model: target users of the whole run; "" = none
  std::int64_t startAtUs = 0;  // the schedule's time 0, µs since the epoch; 0 = job start
  // How users and arrivals pick their test (PROTOCOL.md §5.1 "User mix"); 0 (an older
  // master) is read as 1. A slave refuses a mix above kUserMix.
  std::uint32_t userMix = 1;
  std::map<std::string, std::string> params;  // --param key=value, for config(); none
  std::vector<DataFile> files;                // --include: the run's data files; none
  MSGPACK_DEFINE_ARRAY(tests, users, hits, durationMs, serverUrl, threads, args, rateStages,
                       rateStart, maxUsers, userStages, startAtUs, userMix, params, files);
};
// The user mix this version runs: user k of the run (0-based over all agents; agent i of
// n has k = i, i+n, …) runs test k mod T and has id k+1; arrival n runs test n mod T.
// Mix 2 weighs the tests (`tests` "Class.method:W", or the library's LOADS_WEIGHTED):
// user k and arrival n run the test of slot k mod W of the weights' smooth round robin.
inline constexpr std::uint32_t kUserMix = 2;

// The users agent `index` (0-based) of `count` runs: an even split, the first
// `total % count` agents taking one more.
constexpr std::uint32_t usersForAgent(std::uint32_t total, std::uint32_t index,
                                      std::uint32_t count) {
  if (count == 0) return 0;
  return total / count + (index < total % count ? 1 : 0);
}

// How slaves authenticate to the master's results socket (PROTOCOL.md §9.3): all three
// are 40-character Z85 keys, or all "" (plain TCP).
struct ResultsCurve {
  std::string serverKey;     // public key of the master's results socket; ""
  std::string clientPublic;  // the run key, made by the master for this run only; ""
  std::string clientSecret;  // its secret: never logged, never in PONG; ""
  bool empty() const { return serverKey.empty(); }
  MSGPACK_DEFINE_ARRAY(serverKey, clientPublic, clientSecret);
};

struct Run {
  static constexpr MessageType kType = MessageType::kRun;
  std::uint32_t agents = 1;        // agents wanted, 1..kMaxAgentsPerRun
  std::uint32_t waitAgentsMs = 0;  // how long the broker may wait for idle agents; 0 = refuse now
  std::string libraryName;         // file name of the test library; ""
  std::string librarySha256;       // sha256 of library, 64 lowercase hex digits; required
  Bytes library;                   // the test library's bytes; required
  JobOptions options;              // what each agent runs
  std::string resultsEndpoint;     // the master's PULL socket, tcp://host:port; required
  std::string masterHost;          // the master's host name, shown by PING; ""
  ResultsCurve resultsCurve;       // the results socket's CURVE keys; all "" = plain
  std::vector<Bytes> files;        // the bytes of options.files, in their order; none
  MSGPACK_DEFINE_ARRAY(agents, waitAgentsMs, libraryName, librarySha256, library, options,
                       resultsEndpoint, masterHost, resultsCurve, files);
  // The bytes with this sha256: the library or a data file; null when the RUN has none.
  const Bytes* blob(const std::string& sha256) const;
};
inline constexpr std::uint32_t kMaxAgentsPerRun = 10000;

struct AssignedAgent {
  std::string agentId;      // the agent's id
  std::string host;         // its host
  std::uint32_t index = 0;  // its index in the run, 0-based (users split)
  MSGPACK_DEFINE_ARRAY(agentId, host, index);
};

struct RunAccepted {
  static constexpr MessageType kType = MessageType::kRunAccepted;
  std::string runId;                  // the broker's id for the run
  std::vector<AssignedAgent> agents;  // the agents that received a JOB
  MSGPACK_DEFINE_ARRAY(runId, agents);
};

struct RunRefused {
  static constexpr MessageType kType = MessageType::kRunRefused;
  std::uint16_t code = 503;      // ErrorCode: 503 not enough agents, 400 invalid RUN
  std::string text;              // one sentence for the user
  std::uint32_t wanted = 0;      // agents asked for
  std::uint32_t idle = 0;        // idle agents at refusal time
  std::uint32_t registered = 0;  // idle + busy agents
  MSGPACK_DEFINE_ARRAY(code, text, wanted, idle, registered);
};

struct AgentDone {
  static constexpr MessageType kType = MessageType::kAgentDone;
  std::string runId;          // the run
  std::string agentId;        // the agent whose job ended
  std::string host;           // its host
  std::int32_t exitCode = 0;  // slave exit code; -1 when killed by a signal
  std::int32_t signal = 0;    // signal that killed the slave; 0 when it exited
  std::string reason;         // "", "stopped", "killed by SIGSEGV", ...
  MSGPACK_DEFINE_ARRAY(runId, agentId, host, exitCode, signal, reason);
};

struct AgentLost {
  static constexpr MessageType kType = MessageType::kAgentLost;
  std::string runId;    // the run
  std::string agentId;  // the agent that was lost
  std::string host;     // its host
  std::string reason;   // "no heartbeat for 5000 ms", "agent disconnected", ...
  MSGPACK_DEFINE_ARRAY(runId, agentId, host, reason);
};

// master -> broker (stop a run) and broker -> agent (stop your job).
struct Stop {
  static constexpr MessageType kType = MessageType::kStop;
  std::string runId;  // the run to stop
  MSGPACK_DEFINE_ARRAY(runId);
};

struct Stopped {
  static constexpr MessageType kType = MessageType::kStopped;
  std::string runId;         // the run
  std::uint32_t agents = 0;  // agents told to stop
  MSGPACK_DEFINE_ARRAY(runId, agents);
};

struct RebalanceShare {
  std::string agentId;      // an agent still running the run
  std::uint32_t index = 0;  // its new index, 0-based
  MSGPACK_DEFINE_ARRAY(agentId, index);
};

// A unique feeder's run of rows (run/row_runs.hpp's RowRun) on the wire.
struct FeedShift {
  std::string feed;         // the feeder's file name
  std::uint64_t shift = 0;  // elements the feed had dealt before the run changed hands
  MSGPACK_DEFINE_ARRAY(feed, shift);
};
struct RowsRun {
  std::uint32_t share = 0;  // whose users' rows (a JOB index)
  std::uint64_t offset = 0;
  std::uint64_t stride = 1;
  std::vector<FeedShift> shifts;  // feeds not listed: 0
  MSGPACK_DEFINE_ARRAY(share, offset, stride, shifts);
};
inline constexpr std::size_t kMaxRowsRuns = 10000;   // runs in one REBALANCE
inline constexpr std::size_t kMaxFeedShifts = 1000;  // feeds in one run

// master -> broker and broker -> agent: re-split the rest of the run over the agents
// still running it (PROTOCOL.md §5.1).
struct Rebalance {
  static constexpr MessageType kType = MessageType::kRebalance;
  std::string runId;                   // the run
  std::uint32_t count = 1;             // agents sharing the run from now on
  std::vector<RebalanceShare> shares;  // each with its new index; `count` entries
  std::uint64_t fromMs = 0;            // schedules: new split from this offset; 0
  std::string lost;                    // the agent whose share is re-split, for logs; ""
  std::vector<RowsRun> rows;           // what `lost` had not dealt of its unique rows; none
  MSGPACK_DEFINE_ARRAY(runId, count, shares, fromMs, lost, rows);
};
// Why a REBALANCE is not a permutation of 0..count-1 over distinct agents; "" when valid.
std::string validateRebalance(const Rebalance& rebalance);

struct Purge {
  static constexpr MessageType kType = MessageType::kPurge;
  MSGPACK_DEFINE_ARRAY();
};

struct Purged {
  static constexpr MessageType kType = MessageType::kPurged;
  std::uint32_t runs = 0;  // runs stopped
  MSGPACK_DEFINE_ARRAY(runs);
};

struct Ping {
  static constexpr MessageType kType = MessageType::kPing;
  MSGPACK_DEFINE_ARRAY();
};

struct AgentInfo {
  std::string id;              // agent id
  std::string host;            // host name
  std::uint32_t cores = 0;     // cores of its machine
  std::string state;           // "idle", "busy" or "lost"
  std::string runId;           // current run; ""
  std::uint64_t silentMs = 0;  // time since the broker last heard from it
  std::string version;         // its loads release
  MSGPACK_DEFINE_ARRAY(id, host, cores, state, runId, silentMs, version);
};

struct RunInfo {
  std::string runId;                // run id
  std::string state;                // "waiting" or "running"
  std::uint32_t agentsWanted = 0;   // agents asked for
  std::vector<std::string> agents;  // agent ids assigned
  std::uint64_t ageMs = 0;          // time since RUN
  std::string masterHost;           // from RUN
  std::string libraryName;          // from RUN
  std::uint32_t ended = 0;          // agents done or lost so far
  MSGPACK_DEFINE_ARRAY(runId, state, agentsWanted, agents, ageMs, masterHost, libraryName, ended);
};

struct Pong {
  static constexpr MessageType kType = MessageType::kPong;
  std::uint32_t pid = 0;                      // broker process id
  std::string version;                        // broker's loads release
  std::uint32_t protocol = kProtocolVersion;  // broker's protocol version
  std::uint64_t uptimeMs = 0;                 // time since the broker started
  std::vector<AgentInfo> agents;              // every known agent, sorted by id
  std::vector<RunInfo> runs;                  // runs waiting or in progress
  MSGPACK_DEFINE_ARRAY(pid, version, protocol, uptimeMs, agents, runs);
};

// ---------------------------------------------------------------- both sockets

struct Heartbeat {
  static constexpr MessageType kType = MessageType::kHeartbeat;
  MSGPACK_DEFINE_ARRAY();
};

struct Disconnect {
  static constexpr MessageType kType = MessageType::kDisconnect;
  std::string reason;  // why the sender leaves; ""
  MSGPACK_DEFINE_ARRAY(reason);
};

// Frozen layout (PROTOCOL.md §3): readable by every protocol version.
struct Error {
  static constexpr MessageType kType = MessageType::kError;
  std::uint16_t code = 500;  // ErrorCode
  std::string text;          // one sentence: what was wrong and what to do
  MSGPACK_DEFINE_ARRAY(code, text);
};

// ---------------------------------------------------------------- agent <-> broker

struct Hello {
  static constexpr MessageType kType = MessageType::kHello;
  std::string agentId;                 // unique in the fleet; default "host-pid"
  std::string host;                    // host name
  std::uint32_t cores = 0;             // cores of the machine
  std::string version;                 // loads release
  std::vector<std::string> libraries;  // sha256 of the libraries in the agent's cache
  std::string runId;                   // run the agent's slave still runs; "" when idle
  std::uint32_t pid = 0;               // agent process id
  MSGPACK_DEFINE_ARRAY(agentId, host, cores, version, libraries, runId, pid);
};

// What one HELLO may carry (PROTOCOL.md §5.2): the broker keeps these per agent and
// copies the strings into every PONG.
inline constexpr std::size_t kMaxHelloLibraries = 1024;  // sha256s listed
inline constexpr std::size_t kMaxHelloString = 256;      // bytes of agent id, host, version, run id
// Why a HELLO is refused, in one sentence that names the cap it breaks; "" when valid.
// `code` is kTooLarge for a cap, kMalformed for a library that is not a sha256.
std::string validateHello(const Hello& hello, ErrorCode& code);

struct Welcome {
  static constexpr MessageType kType = MessageType::kWelcome;
  std::uint32_t heartbeatMs = 1000;  // heartbeat interval the agent must use
  std::uint32_t liveness = 5;        // silent intervals before a peer counts as lost
  std::string version;               // broker's loads release
  // The broker's --max-message-size: the agent takes it as its own (a JOB carries the
  // library); 0 = not said, kDefaultMaxMessageSize.
  std::uint64_t maxMessageSize = 0;
  MSGPACK_DEFINE_ARRAY(heartbeatMs, liveness, version, maxMessageSize);
};

struct Job {
  static constexpr MessageType kType = MessageType::kJob;
  std::string runId;            // the run
  std::uint32_t index = 0;      // this agent's index in the run, 0-based
  std::uint32_t count = 1;      // agents in the run
  std::string libraryName;      // file name of the test library
  std::string librarySha256;    // sha256 of the library
  Bytes library;                // its bytes; empty when the agent has it cached
  JobOptions options;           // what to run
  std::string resultsEndpoint;  // the master's PULL socket
  std::string agentId;          // the agent's id as registered
  ResultsCurve resultsCurve;    // the RUN's, verbatim; all "" = plain
  MSGPACK_DEFINE_ARRAY(runId, index, count, libraryName, librarySha256, library, options,
                       resultsEndpoint, agentId, resultsCurve);
};

struct NeedLibrary {
  static constexpr MessageType kType = MessageType::kNeedLibrary;
  std::string runId;          // the run whose JOB came without bytes
  std::string librarySha256;  // the library missing from the cache
  std::uint64_t offset = 0;   // first byte wanted; 0
  std::uint64_t length = 0;   // bytes wanted, answered with one LIBRARY-PART of at most
                              // kLibraryPartSize; 0 = the whole library in a JOB
  MSGPACK_DEFINE_ARRAY(runId, librarySha256, offset, length);
};

// A JOB carries the library only when it fits in one part; a larger one is fetched part
// by part (NEED-LIBRARY → LIBRARY-PART), so that no message on a slow link holds the
// heartbeats behind it for long (PROTOCOL.md §5.2).
inline constexpr std::uint64_t kLibraryPartSize = 256 * 1024;

struct LibraryPart {
  static constexpr MessageType kType = MessageType::kLibraryPart;
  std::string runId;          // the run
  std::string librarySha256;  // the library
  std::uint64_t offset = 0;   // where `bytes` start in the library
  std::uint64_t size = 0;     // the library's whole size
  Bytes bytes;                // at most kLibraryPartSize bytes
  MSGPACK_DEFINE_ARRAY(runId, librarySha256, offset, size, bytes);
};

struct JobEnded {
  static constexpr MessageType kType = MessageType::kJobEnded;
  std::string runId;          // the run
  std::int32_t exitCode = 0;  // slave exit code; -1 when killed by a signal
  std::int32_t signal = 0;    // signal that killed the slave; 0 when it exited
  std::string reason;         // "", "stopped", "killed by SIGSEGV", ...
  MSGPACK_DEFINE_ARRAY(runId, exitCode, signal, reason);
};

// ---------------------------------------------------------------- encoding

// One envelope, msgpack-encoded into `buffer` (appended): the bytes of one ZeroMQ frame.
template <class T>
void encodeTo(msgpack::sbuffer& buffer, const T& message) {
  msgpack::packer<msgpack::sbuffer> packer(buffer);
  packer.pack_array(4);
  packer.pack(kProtocolName);
  packer.pack(kProtocolVersion);
  packer.pack(messageTypeName(T::kType));
  packer.pack(message);
}

template <class T>
std::string encode(const T& message) {
  msgpack::sbuffer buffer;
  encodeTo(buffer, message);
  return std::string(buffer.data(), buffer.size());
}

// The outcome of decoding: a value, or an error code with a one-sentence reason.
template <class T>
class Decoded {
 public:
  static Decoded success(T value) {
    Decoded d;
    d.value_.emplace(std::move(value));
    return d;
  }
  static Decoded failure(ErrorCode code, std::string reason) {
    Decoded d;
    d.error_ = code;
    d.reason_ = std::move(reason);
    return d;
  }
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  ErrorCode error() const { return error_; }  // kNone when ok
  const std::string& reason() const { return reason_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T* operator->() { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  ErrorCode error_ = ErrorCode::kNone;
  std::string reason_;
};

// Bounds for decoding untrusted bytes (PROTOCOL.md §3).
struct DecodeLimits {
  std::size_t maxMessageSize = kDefaultMaxMessageSize;  // larger input is refused unread
  std::size_t maxArray = 262144;                        // elements per array
  std::size_t maxMap = 4096;                            // entries per map
  std::size_t maxDepth = 16;                            // nesting
  // msgpack values in all (each decodes into a 24-byte object, even a 1-byte nil): the
  // per-array limit does not bound arrays of arrays.
  std::size_t maxObjects = 1u << 20;
};

// A decoded envelope. Owns the decoded msgpack data; `body` points into it.
struct Envelope {
  MessageType type = MessageType::kUnknown;
  std::string typeName;  // as sent
  std::uint32_t version = 0;
  msgpack::object body;
  std::shared_ptr<msgpack::zone> zone;  // keeps body alive; null for referenced decodes
};

// Decodes and checks the envelope. Errors: kTooLarge (bytes or values), kMalformed (not a LOADS
// envelope), kVersionMismatch (reason names both versions), kUnknownType (valid
// envelope of an unknown type; typeName is in the reason). Never throws.
// With `reference` the body may point into `bytes`, which must then outlive it.
Decoded<Envelope> decodeEnvelope(std::string_view bytes, const DecodeLimits& limits = {},
                                 bool reference = false);

namespace detail {
std::string describeException(const std::exception& e);
}

// Converts an envelope's body into T. Error kMalformed on a wrong type; never throws.
template <class T>
Decoded<T> decodeBody(const Envelope& envelope) {
  if (envelope.type != T::kType) {
    return Decoded<T>::failure(
        ErrorCode::kUnexpected,
        "expected " + std::string(messageTypeName(T::kType)) + ", got " + envelope.typeName);
  }
  try {
    T value;
    envelope.body.convert(value);
    return Decoded<T>::success(std::move(value));
  } catch (const std::exception& e) {
    return Decoded<T>::failure(ErrorCode::kMalformed,
                               envelope.typeName + " body: " + detail::describeException(e));
  } catch (...) {
    return Decoded<T>::failure(ErrorCode::kMalformed, envelope.typeName + " body: bad value");
  }
}

// Envelope and body in one step, for a peer that expects exactly one type.
template <class T>
Decoded<T> decode(std::string_view bytes, const DecodeLimits& limits = {}) {
  auto envelope = decodeEnvelope(bytes, limits);
  if (!envelope) return Decoded<T>::failure(envelope.error(), envelope.reason());
  return decodeBody<T>(envelope.value());
}

// ---------------------------------------------------------------- checks

// sha256 of `data` as 64 lowercase hex digits.
std::string sha256Hex(std::string_view data);
inline std::string sha256Hex(const Bytes& data) {
  return sha256Hex(std::string_view(data.data(), data.size()));
}
bool isSha256Hex(std::string_view text);

// Why a RUN cannot be accepted, in one sentence; "" when it is valid. Checks the
// library's and the data files' bytes against their sha256, and the files' names.
std::string validateRun(const Run& run);

}  // namespace loads::proto
