#include "master/results_receiver.hpp"

#include <unistd.h>

#include <iostream>
#include <zmq.hpp>

#include "proto/results.hpp"
#include "security/zap.hpp"
#include "stats/aggregate_result.hpp"
#include "util/host_name.hpp"

namespace loads::master {

struct ResultsReceiver::Socket {
  zmq::context_t context{1};
  std::unique_ptr<security::ZapAuthenticator> zap;  // with a key pair only
  zmq::socket_t pull{context, zmq::socket_type::pull};
};

namespace {

// "tcp://0.0.0.0:4321" → "tcp://<host>:4321"; an address without a port takes the bound one.
std::string agentEndpoint(const std::string& bound, const std::string& address) {
  const std::string port = bound.substr(bound.rfind(':') + 1);
  if (!address.empty()) {
    const auto hostStart = address.find("://");
    const bool hasPort =
        address.find(':', hostStart == std::string::npos ? 0 : hostStart + 3) != std::string::npos;
    return hasPort ? address : address + ":" + port;
  }
  for (const std::string wildcard : {"tcp://0.0.0.0:", "tcp://[::]:"}) {
    if (bound.rfind(wildcard, 0) == 0) return "tcp://" + hostName() + ":" + port;
  }
  return bound;
}

}  // namespace

ResultsReceiver::ResultsReceiver(ReceiverOptions options, AggregateResult& sink)
    : options_(std::move(options)), sink_(sink), socket_(std::make_unique<Socket>()) {
  socket_->pull.set(zmq::sockopt::rcvhwm, 10000);
  socket_->pull.set(zmq::sockopt::maxmsgsize,
                    static_cast<std::int64_t>(options_.maxMessageSize * 2 + 65536));
  socket_->pull.set(zmq::sockopt::linger, 0);
  if (!options_.key.empty()) {
    socket_->zap = std::make_unique<security::ZapAuthenticator>(socket_->context);
    socket_->zap->allow("results", {options_.allowedClient});
    security::makeCurveServer(socket_->pull, options_.key, "results");
  }
  socket_->pull.bind(options_.bind);
  endpoint_ = agentEndpoint(socket_->pull.get(zmq::sockopt::last_endpoint), options_.address);
}

ResultsReceiver::~ResultsReceiver() { stop(); }

std::uint64_t ResultsReceiver::keysRefused() const {
  return socket_->zap ? socket_->zap->refusals() : 0;
}

void ResultsReceiver::setAgentIndex(const std::string& agentId, std::uint32_t index) {
  std::lock_guard lock(mutex_);
  if (indexes_.try_emplace(agentId, index).second) ++knownAgents_;
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

// A sender may name any agent: past kMaxUnknownAgents ids the master never assigned,
// their events share one tally and one source (memory stays bounded, nothing is lost).
const std::string& ResultsReceiver::agentKey(const std::string& agentId) {
  static const std::string kOtherAgents = "(other agents)";
  if (indexes_.count(agentId)) return agentId;
  return indexes_.size() < knownAgents_ + kMaxUnknownAgents ? agentId : kOtherAgents;
}

void ResultsReceiver::onBatch(const void* data, std::size_t size) {
  proto::DecodeLimits limits;
  limits.maxMessageSize = options_.maxMessageSize;
  const std::string_view bytes(static_cast<const char*>(data), size);
  // The events must be tagged with their agent before they are replayed.
  auto batch =
      proto::decodeResultsBatch(bytes, sink_, limits, [this](const proto::BatchInfo& info) {
        std::lock_guard lock(mutex_);
        auto [index, fresh] = indexes_.try_emplace(agentKey(info.agentId), nextUnknownIndex_);
        if (fresh) ++nextUnknownIndex_;
        sink_.setSource(index->second);
      });
  if (!batch) {
    const std::uint64_t count = ++malformed_;
    if (count <= 100 || count % 1000 == 0) {
      std::cerr << "loads-master: malformed results message #" << count
                << " dropped: " << batch.reason() << std::endl;
    }
    return;
  }
  std::lock_guard lock(mutex_);
  const std::string& agent = agentKey(batch->agentId);
  AgentTally& tally = tallies_[agent];
  tally.source = indexes_[agent];
  tally.received += batch->replayed;
  tally.skipped += batch->skipped;
  tally.eventsSent = std::max(tally.eventsSent, batch->eventsSent);
  ++tally.batches;
  if (batch->seq > tally.lastSeq + 1) tally.seqGaps += batch->seq - tally.lastSeq - 1;
  tally.lastSeq = std::max(tally.lastSeq, batch->seq);
  if (batch->final) tally.final = true;
}

}  // namespace loads::master
