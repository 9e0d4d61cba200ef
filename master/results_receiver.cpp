#include "master/results_receiver.hpp"

#include <pthread.h>
#include <unistd.h>

#include <iostream>
#include <zmq.hpp>

#include "proto/results.hpp"
#include "proto/summary.hpp"
#include "security/inbound_guard.hpp"
#include "security/zap.hpp"
#include "stats/aggregate_result.hpp"
#include "util/host_name.hpp"

namespace loads::master {

struct ResultsReceiver::Socket {
  zmq::context_t context{1};
  std::unique_ptr<security::ZapAuthenticator> zap;  // with a key pair only
  zmq::socket_t pull{context, zmq::socket_type::pull};
  std::unique_ptr<security::InboundGuard> guard;  // unfinished multipart messages (PROTOCOL.md §3)
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
  const std::size_t frameCap = proto::frameLimit(options_.maxMessageSize);
  socket_->pull.set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(frameCap));
  socket_->pull.set(zmq::sockopt::linger, 0);
  if (!options_.key.empty()) {
    socket_->zap = std::make_unique<security::ZapAuthenticator>(socket_->context);
    socket_->zap->allow("results", {options_.allowedClient});
    security::makeCurveServer(socket_->pull, options_.key, "results");
  }
  socket_->guard = std::make_unique<security::InboundGuard>(socket_->context, socket_->pull,
                                                            frameCap + proto::kFrameSlack,
                                                            !options_.key.empty(), "results");
  socket_->pull.bind(options_.bind);
  endpoint_ = agentEndpoint(socket_->pull.get(zmq::sockopt::last_endpoint), options_.address);
}

ResultsReceiver::~ResultsReceiver() { stop(); }

std::uint64_t ResultsReceiver::keysRefused() const {
  return socket_->zap ? socket_->zap->refusals() : 0;
}

void ResultsReceiver::listen() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { loop(); });
  ::pthread_setname_np(thread_.native_handle(), "loads-results");  // for top, perf and tests
}

void ResultsReceiver::start(const std::string& runId,
                            const std::map<std::string, std::uint32_t>& agents) {
  {
    std::lock_guard lock(mutex_);
    runId_ = runId;
    indexes_ = agents;
  }
  reading_ = true;
  listen();
}

RejectedResults ResultsReceiver::rejected() const {
  std::lock_guard lock(mutex_);
  return rejected_;
}

void ResultsReceiver::stop() {
  stopRequested_ = true;
  if (thread_.joinable()) thread_.join();
}

std::chrono::steady_clock::time_point ResultsReceiver::lastReadAt() const {
  using Clock = std::chrono::steady_clock;
  return replaying_ ? Clock::now() : Clock::time_point(Clock::duration(lastReadTicks_.load()));
}

std::map<std::string, AgentTally> ResultsReceiver::tallies() const {
  std::lock_guard lock(mutex_);
  return tallies_;
}

void ResultsReceiver::loop() {
  zmq::socket_t& pull = socket_->pull;
  zmq::message_t message;
  for (;;) {
    if (!reading_) {  // the run is not known yet: guard the socket, read nothing
      if (stopRequested_) return;
      socket_->guard->check();
      std::this_thread::sleep_for(security::InboundGuard::kCheckInterval);  // the guard's tick
      continue;
    }
    zmq::pollitem_t item{pull.handle(), 0, ZMQ_POLLIN, 0};
    // On stop, what is already queued is still read: then the poll comes back empty.
    zmq::poll(
        &item, 1,
        stopRequested_ ? std::chrono::milliseconds(0) : security::InboundGuard::kCheckInterval);
    socket_->guard->check();
    if (!(item.revents & ZMQ_POLLIN)) {
      if (stopRequested_) return;
      continue;
    }
    for (int i = 0; i < 1000; ++i) {
      if (!pull.recv(message, zmq::recv_flags::dontwait)) break;
      socket_->guard->delivered(message);
      replaying_ = true;
      onBatch(message.data(), message.size());
      lastReadTicks_ = std::chrono::steady_clock::now().time_since_epoch().count();
      replaying_ = false;
    }
  }
}

// A slave's messages come in order on its one connection, each with a higher seq and an
// events-sent grown by at least its own events (more when a batch was lost on the way).
// Whatever breaks that was not sent by the slave of that agent in this run.
bool ResultsReceiver::admit(const proto::BatchInfo& info) {
  auto clip = [](const std::string& text) { return text.substr(0, 64); };
  if (info.runId != runId_) {
    if (rejected_.otherRun++ == 0) rejected_.otherRunExample = clip(info.runId);
    return false;
  }
  if (!indexes_.contains(info.agentId)) {
    if (rejected_.unknownAgent++ == 0) rejected_.unknownAgentExample = clip(info.agentId);
    return false;
  }
  const auto it = tallies_.find(info.agentId);
  if (it == tallies_.end() || it->second.runId != info.runId) return true;  // its first here
  AgentTally& tally = it->second;
  // A dead slave's parent sends again what may not have left the slave: whichever copy of
  // a batch comes second (the slave's own can still be on its way) is a duplicate. So is
  // the parent's STOP-TEST-RUN after the slave's own, which it repeats (the same seq and
  // total, no events): a slave whose close ended just inside its linger leaves its
  // stream to the parent though all of it left (agent/ring_forwarder.cpp).
  const bool repeatedFinal = info.final && tally.final && info.seq == tally.lastSeq &&
                             info.events == 0 && info.eventsSent == tally.eventsSent;
  if ((info.resent && info.seq <= tally.lastSeq) ||
      (!info.resent && tally.resent.contains(info.seq)) || repeatedFinal) {
    ++tally.duplicates;
    return false;
  }
  if (tally.final) {
    ++rejected_.afterFinal;
  } else if (info.seq <= tally.lastSeq || info.eventsSent < tally.eventsSent ||
             info.eventsSent - tally.eventsSent < info.events) {
    ++rejected_.outOfSequence;
  } else {
    return true;
  }
  rejected_.impersonated.insert(info.agentId);
  return false;
}

void ResultsReceiver::onBatch(const void* data, std::size_t size) {
  proto::DecodeLimits limits;
  limits.maxMessageSize = options_.maxMessageSize;
  const std::string_view bytes(static_cast<const char*>(data), size);
  // The events must be tagged with their agent before they are replayed.
  bool refused = false;
  auto batch = proto::decodeResultsBatch(
      bytes, sink_, limits,
      [&](const proto::BatchInfo& info) {
        std::lock_guard lock(mutex_);
        refused = !admit(info);
        if (!refused) sink_.setSource(indexes_.at(info.agentId));
        return !refused;
      },
      [this](proto::EventKind kind, std::int64_t atUs) {
        // The slave's own time: a slave that started late does not shorten the run.
        if (kind == proto::EventKind::kStartTestRun) {
          sink_.startTestRunAt(atUs);
        } else {
          sink_.stopTestRunAt(atUs);
        }
      });
  if (refused) return;  // counted by admit()
  if (!batch && batch.error() == proto::ErrorCode::kUnexpected) {
    onSummary(bytes, limits);  // not RESULTS nor STOP-TEST-RUN: a SUMMARY, or malformed
    return;
  }
  if (!batch) {
    countMalformed(batch.reason());
    return;
  }
  std::lock_guard lock(mutex_);
  count(*batch);
}

void ResultsReceiver::onSummary(std::string_view bytes, const proto::DecodeLimits& limits) {
  auto batch = proto::decodeSummaryBatch(bytes, limits);
  if (!batch) {
    countMalformed(batch.reason());
    return;
  }
  {
    std::lock_guard lock(mutex_);
    if (!admit(batch->info)) return;  // counted by admit()
    sink_.setSource(indexes_.at(batch->info.agentId));
  }
  sink_.mergeSummary(batch->summary);
  std::lock_guard lock(mutex_);
  count(batch->info);
}

void ResultsReceiver::countMalformed(const std::string& reason) {
  const std::uint64_t count = ++malformed_;
  if (count <= 100 || count % 1000 == 0) {
    std::cerr << "loads-master: malformed results message #" << count << " dropped: " << reason
              << std::endl;
  }
}

void ResultsReceiver::count(const proto::BatchInfo& batch) {
  AgentTally& tally = tallies_[batch.agentId];
  if (tally.runId != batch.runId) tally = AgentTally{batch.runId};  // the agent's next cycle
  tally.source = indexes_[batch.agentId];
  tally.received += batch.replayed;
  tally.skipped += batch.skipped;
  tally.eventsSent = batch.eventsSent;
  ++tally.batches;
  if (batch.seq > tally.lastSeq + 1) tally.seqGaps += batch.seq - tally.lastSeq - 1;
  tally.lastSeq = std::max(tally.lastSeq, batch.seq);
  if (batch.final) tally.final = true;
  if (batch.resent) tally.resent.insert(batch.seq);
  if (batch.crash) tally.crash = batch.crash;
}

}  // namespace loads::master
