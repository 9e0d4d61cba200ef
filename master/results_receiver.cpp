#include "results_receiver.hpp"

#include <unistd.h>

#include <iostream>
#include <zmq.hpp>

#include "aggregate_result.hpp"
#include "proto/results.hpp"

namespace loads::master {

struct ResultsReceiver::Socket {
  zmq::context_t context{1};
  zmq::socket_t pull{context, zmq::socket_type::pull};
};

namespace {

std::string hostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

// "tcp://0.0.0.0:4321" → "tcp://<host>:4321"; an address without a port takes the bound one.
std::string agentEndpoint(const std::string& bound, const std::string& address) {
  const std::string port = bound.substr(bound.rfind(':') + 1);
  if (!address.empty()) {
    const auto hostStart = address.find("://");
    const bool hasPort = address.find(':', hostStart == std::string::npos ? 0 : hostStart + 3) !=
                         std::string::npos;
    return hasPort ? address : address + ":" + port;
  }
  for (const std::string wildcard : {"tcp://0.0.0.0:", "tcp://[::]:"}) {
    if (bound.rfind(wildcard, 0) == 0) return "tcp://" + hostName() + ":" + port;
  }
  return bound;
}

// A minimal msgpack reader for the fixed prefix of RESULTS / STOP-TEST-RUN:
// [protocol str, version uint, type str, [run-id str, agent-id str, ...]]. Full
// validation is decodeResultsBatch's job; this only finds the agent id ("" if unsure).
class Prefix {
 public:
  explicit Prefix(std::string_view b) : b_(b) {}
  bool array() {
    if (!need(1)) return false;
    const auto c = byte(0);
    if ((c & 0xf0) == 0x90) return skip(1);
    if (c == 0xdc) return skip(3);
    if (c == 0xdd) return skip(5);
    return false;
  }
  bool str(std::string_view* out) {
    if (!need(1)) return false;
    const auto c = byte(0);
    std::size_t header = 0, length = 0;
    if ((c & 0xe0) == 0xa0) {
      header = 1, length = c & 0x1f;
    } else if (c == 0xd9 && need(2)) {
      header = 2, length = byte(1);
    } else if (c == 0xda && need(3)) {
      header = 3, length = (std::size_t{byte(1)} << 8) | byte(2);
    } else if (c == 0xdb && need(5)) {
      header = 5;
      for (int i = 1; i <= 4; ++i) length = (length << 8) | byte(i);
    } else {
      return false;
    }
    if (!need(header + length)) return false;
    if (out) *out = b_.substr(pos_ + header, length);
    return skip(header + length);
  }
  bool uint() {
    if (!need(1)) return false;
    const auto c = byte(0);
    if (c < 0x80) return skip(1);
    if (c >= 0xcc && c <= 0xcf) return skip(1 + (std::size_t{1} << (c - 0xcc)));
    return false;
  }

 private:
  bool need(std::size_t n) const { return b_.size() - pos_ >= n; }
  bool skip(std::size_t n) {
    if (!need(n)) return false;
    pos_ += n;
    return true;
  }
  unsigned char byte(std::size_t at) const { return static_cast<unsigned char>(b_[pos_ + at]); }
  std::string_view b_;
  std::size_t pos_ = 0;
};

std::string peekAgentId(std::string_view bytes) {
  Prefix p(bytes);
  std::string_view agentId;
  if (p.array() && p.str(nullptr) && p.uint() && p.str(nullptr) && p.array() && p.str(nullptr) &&
      p.str(&agentId)) {
    return std::string(agentId);
  }
  return "";
}

}  // namespace

ResultsReceiver::ResultsReceiver(ReceiverOptions options, AggregateResult& sink)
    : options_(std::move(options)), sink_(sink), socket_(std::make_unique<Socket>()) {
  socket_->pull.set(zmq::sockopt::rcvhwm, 10000);
  socket_->pull.set(zmq::sockopt::maxmsgsize,
                    static_cast<std::int64_t>(options_.maxMessageSize * 2 + 65536));
  socket_->pull.set(zmq::sockopt::linger, 0);
  socket_->pull.bind(options_.bind);
  endpoint_ = agentEndpoint(socket_->pull.get(zmq::sockopt::last_endpoint), options_.address);
}

ResultsReceiver::~ResultsReceiver() { stop(); }

void ResultsReceiver::setAgentIndex(const std::string& agentId, std::uint32_t index) {
  std::lock_guard lock(mutex_);
  indexes_[agentId] = index;
  auto it = tallies_.find(agentId);
  if (it != tallies_.end()) it->second.source = index;
}

void ResultsReceiver::start() {
  if (!thread_.joinable()) thread_ = std::thread([this] { loop(); });
}

void ResultsReceiver::stop() {
  stopRequested_ = true;
  if (thread_.joinable()) thread_.join();
}

std::map<std::string, AgentTally> ResultsReceiver::tallies() const {
  std::lock_guard lock(mutex_);
  return tallies_;
}

void ResultsReceiver::loop() {
  zmq::socket_t& pull = socket_->pull;
  zmq::message_t message;
  for (;;) {
    zmq::pollitem_t item{pull.handle(), 0, ZMQ_POLLIN, 0};
    // On stop, what is already queued is still read: then the poll comes back empty.
    zmq::poll(&item, 1, std::chrono::milliseconds(stopRequested_ ? 0 : 50));
    if (!(item.revents & ZMQ_POLLIN)) {
      if (stopRequested_) return;
      continue;
    }
    for (int i = 0; i < 1000; ++i) {
      if (!pull.recv(message, zmq::recv_flags::dontwait)) break;
      onBatch(message.data(), message.size());
    }
  }
}

void ResultsReceiver::onBatch(const void* data, std::size_t size) {
  proto::DecodeLimits limits;
  limits.maxMessageSize = options_.maxMessageSize;
  const std::string_view bytes(static_cast<const char*>(data), size);
  // The source must be set before the events are replayed, and only the header names
  // the agent: peek at it rather than decode the whole batch twice.
  const std::string agentId = peekAgentId(bytes);
  {
    std::lock_guard lock(mutex_);
    auto [index, fresh] = indexes_.try_emplace(agentId, nextUnknownIndex_);
    if (fresh) ++nextUnknownIndex_;
    sink_.setSource(index->second);
  }
  auto batch = proto::decodeResultsBatch(bytes, sink_, limits);
  if (!batch) {
    const std::uint64_t count = ++malformed_;
    if (count <= 100 || count % 1000 == 0) {
      std::cerr << "loads-master: malformed results message #" << count << " dropped: "
                << batch.reason() << std::endl;
    }
    return;
  }
  std::lock_guard lock(mutex_);
  AgentTally& tally = tallies_[batch->agentId];
  tally.source = indexes_[batch->agentId];
  tally.received += batch->replayed;
  tally.skipped += batch->skipped;
  tally.eventsSent = std::max(tally.eventsSent, batch->eventsSent);
  ++tally.batches;
  if (batch->seq > tally.lastSeq + 1) tally.seqGaps += batch->seq - tally.lastSeq - 1;
  tally.lastSeq = std::max(tally.lastSeq, batch->seq);
  if (batch->final) tally.final = true;
}

}  // namespace loads::master
