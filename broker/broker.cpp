// The broker's poll loop and its per-peer state machines (PROTOCOL.md §8).
#include "broker/broker.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "broker/registry.hpp"
#include "broker/run_table.hpp"
#include "loads/version.hpp"
#include "security/inbound_guard.hpp"
#include "security/zap.hpp"
#include "util/openmetrics.hpp"

namespace loads::broker {

using proto::ErrorCode;
using proto::MessageType;

namespace {

enum class MasterState { kStart, kWaiting, kRunning };
enum class AgentPeerState { kUnknown, kIdle, kBusy, kLost };

constexpr unsigned bit(auto state) { return 1u << static_cast<unsigned>(state); }
constexpr unsigned kAnyMaster =
    bit(MasterState::kStart) | bit(MasterState::kWaiting) | bit(MasterState::kRunning);
constexpr unsigned kRegistered = bit(AgentPeerState::kIdle) | bit(AgentPeerState::kBusy);

struct Rule {
  MessageType type;
  unsigned states;  // bit mask of the states in which the message is allowed
};

// PROTOCOL.md §8.1: what a master may send, and when.
constexpr Rule kFrontendRules[] = {
    {MessageType::kPing, kAnyMaster},
    {MessageType::kStop, kAnyMaster},
    {MessageType::kPurge, kAnyMaster},
    {MessageType::kHeartbeat, kAnyMaster},
    {MessageType::kDisconnect, kAnyMaster},
    {MessageType::kRun, bit(MasterState::kStart)},
    {MessageType::kRebalance, bit(MasterState::kRunning)},
};

// PROTOCOL.md §8.2: what an agent may send, and when.
constexpr Rule kBackendRules[] = {
    {MessageType::kHello, bit(AgentPeerState::kUnknown) | kRegistered | bit(AgentPeerState::kLost)},
    {MessageType::kHeartbeat, kRegistered},
    {MessageType::kDisconnect, kRegistered},
    {MessageType::kNeedLibrary, bit(AgentPeerState::kBusy)},
    {MessageType::kJobEnded, bit(AgentPeerState::kBusy)},
};

template <std::size_t N>
bool allowed(const Rule (&rules)[N], MessageType type, unsigned stateBit) {
  for (const Rule& rule : rules) {
    if (rule.type == type) return (rule.states & stateBit) != 0;
  }
  return false;
}

std::string_view view(const zmq::message_t& m) { return {m.data<char>(), m.size()}; }

std::uint64_t millis(Duration d) { return static_cast<std::uint64_t>(d.count()); }

// The User-Id the ZAP handler gave the sender's connection: its CURVE public key in Z85
// (security/zap.cpp); "" on plain TCP, where there is no ZAP.
std::string peerKeyOf(const zmq::message_t& m) {
  const char* key = zmq_msg_gets(m.handle(), "User-Id");
  return key ? key : "";
}

}  // namespace

class Broker::Loop {
 public:
  explicit Loop(BrokerOptions options);
  void bind(std::string& frontendEndpoint, std::string& backendEndpoint);
  void run();
  void requestStop();
  BrokerStats stats() const;
  const std::optional<ListenAddress>& metricsAddress() const { return options_.metrics; }

 private:
  // The broker's running time: the clock minus the stalls it slept through (excludeStall).
  TimePoint now() const { return options_.now() - stalled_; }
  void send(zmq::socket_t& socket, const std::string& routingId, const std::string& body);
  template <class T>
  void sendTo(zmq::socket_t& socket, const std::string& routingId, const T& message) {
    send(socket, routingId, proto::encode(message));
  }
  void sendError(zmq::socket_t& socket, const std::string& routingId, ErrorCode code,
                 std::string text);
  void countMalformed(bool frontend, const std::string& routingId, const std::string& reason);

  // One message from a socket, framing and envelope checked here.
  void receive(zmq::socket_t& socket, bool frontend);
  security::InboundGuard& guard(bool frontend) {
    return frontend ? *frontendGuard_ : *backendGuard_;
  }
  void onFrontend(const std::string& master, const proto::Envelope& envelope);
  // `peerKey`: the sender's CURVE public key (Z85) as the ZAP handler allowed it; "" on plain TCP.
  void onBackend(const std::string& routingId, const std::string& peerKey,
                 const proto::Envelope& envelope);

  // frontend handlers
  void onRun(const std::string& master, const proto::Envelope& envelope);
  void onStop(const std::string& master, const proto::Envelope& envelope);
  void onPurge(const std::string& master);
  void onPing(const std::string& master);
  void onRebalance(RunRecord& run, const proto::Envelope& envelope);
  // backend handlers
  void onHello(const std::string& routingId, const std::string& peerKey,
               const proto::Envelope& envelope);
  void onJobEnded(AgentRecord& agent, const proto::Envelope& envelope);
  void resendJob(const std::string& runId, const std::string& agentId);
  void onNeedLibrary(AgentRecord& agent, const proto::Envelope& envelope);
  void onAgentDisconnect(AgentRecord& agent);
  void sendLibraryPart(RunRecord& run, AgentRecord& agent, const std::string& sha256,
                       const proto::Bytes& library, std::uint64_t offset, std::uint64_t length);

  // runs
  bool tryStart(RunRecord& run);
  void sendJob(RunRecord& run, const RunSlot& slot, AgentRecord& agent, bool withLibrary);
  void refuse(const std::string& master, ErrorCode code, std::string text, std::uint32_t wanted);
  std::uint32_t stopRun(RunRecord& run);  // STOP to its running agents
  void agentLeftRun(const AgentRecord& agent, const std::string& reason);
  void finishIfDone(const std::string& runId);
  void dispatchWaiting();

  // timers
  void onTick();
  void excludeStall(TimePoint turnStart, Duration pollWait);

  BrokerOptions options_;
  zmq::context_t context_;
  std::unique_ptr<security::ZapAuthenticator> zap_;  // with a key pair only
  zmq::socket_t frontend_;
  zmq::socket_t backend_;
  std::unique_ptr<security::InboundGuard> frontendGuard_, backendGuard_;  // PROTOCOL.md §3
  zmq::socket_t pipeIn_;   // broker thread end of the stop pipe
  zmq::socket_t pipeOut_;  // caller end, guarded by pipeMutex_
  std::mutex pipeMutex_;
  AgentRegistry registry_;
  RunTable runs_;
  proto::DecodeLimits limits_;
  TimePoint startedAt_;
  TimePoint nextTick_;
  Duration stalled_{0};  // time the broker did not run (SIGSTOP, a paused VM, starvation)

  std::atomic<std::uint64_t> malformedFrontend_{0}, malformedBackend_{0}, errorsSent_{0},
      runsAccepted_{0}, runsRefused_{0}, agentsLost_{0}, connectionsCut_{0}, agentIdsRefused_{0},
      messagesFrontend_{0}, messagesBackend_{0};
  // Gauges for /metrics, refreshed by refreshGauges().
  std::atomic<std::uint64_t> agentsIdle_{0}, agentsBusy_{0}, agentsLostNow_{0}, runsWaiting_{0},
      runsRunning_{0};
  void refreshGauges();
};

Broker::Loop::Loop(BrokerOptions options)
    : options_(std::move(options)),
      context_(1),
      frontend_(context_, zmq::socket_type::router),
      backend_(context_, zmq::socket_type::router),
      pipeIn_(context_, zmq::socket_type::pair),
      pipeOut_(context_, zmq::socket_type::pair),
      registry_(options_.heartbeatInterval, options_.liveness),
      runs_(
          "r" + std::to_string(::getpid()) + "-" +
          std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000000)) {
  if (!options_.now) options_.now = [] { return Clock::now(); };
  if (options_.heartbeatInterval.count() <= 0) options_.heartbeatInterval = Duration(1000);
  limits_.maxMessageSize = options_.maxMessageSize;
  startedAt_ = now();
}

void Broker::Loop::bind(std::string& frontendEndpoint, std::string& backendEndpoint) {
  // The transport refuses a frame beyond the limit and 64 KiB of slack; up to there the
  // broker sees the message and counts it. The guards bound the frames of an unfinished
  // multipart message, which the transport's limit does not (PROTOCOL.md §3).
  const std::size_t frameCap = proto::frameLimit(options_.maxMessageSize);
  for (zmq::socket_t* socket : {&frontend_, &backend_}) {
    socket->set(zmq::sockopt::maxmsgsize, static_cast<std::int64_t>(frameCap));
    socket->set(zmq::sockopt::linger, 200);
    socket->set(zmq::sockopt::sndhwm, 10000);
  }
  frontendGuard_ = std::make_unique<security::InboundGuard>(
      context_, frontend_, frameCap + proto::kFrameSlack, !options_.key.empty(), "frontend");
  backendGuard_ = std::make_unique<security::InboundGuard>(
      context_, backend_, frameCap + proto::kFrameSlack, !options_.key.empty(), "backend");
  if (!options_.key.empty()) {
    zap_ = std::make_unique<security::ZapAuthenticator>(context_);
    zap_->allow("masters", options_.allowedMasters);
    zap_->allow("agents", options_.allowedAgents);
    security::makeCurveServer(frontend_, options_.key, "masters");
    security::makeCurveServer(backend_, options_.key, "agents");
  }
  frontend_.bind(options_.frontend);
  backend_.bind(options_.backend);
  frontendEndpoint = frontend_.get(zmq::sockopt::last_endpoint);
  backendEndpoint = backend_.get(zmq::sockopt::last_endpoint);
  const std::string pipe = "inproc://broker-pipe";
  pipeIn_.bind(pipe);
  pipeOut_.connect(pipe);
}

void Broker::Loop::requestStop() {
  std::lock_guard lock(pipeMutex_);
  pipeOut_.send(zmq::str_buffer("$TERM"), zmq::send_flags::dontwait);
}

BrokerStats Broker::Loop::stats() const {
  return {malformedFrontend_.load(),   malformedBackend_.load(), errorsSent_.load(),
          runsAccepted_.load(),        runsRefused_.load(),      agentsLost_.load(),
          zap_ ? zap_->refusals() : 0, connectionsCut_.load(),   agentIdsRefused_.load(),
          messagesFrontend_.load(),    messagesBackend_.load(),  agentsIdle_.load(),
          agentsBusy_.load(),          agentsLostNow_.load(),    runsWaiting_.load(),
          runsRunning_.load()};
}

// Once per heartbeat interval: walking every agent per message would cost too much.
void Broker::Loop::refreshGauges() {
  std::uint64_t idle = 0, busy = 0, lost = 0;
  for (const auto& [id, agent] : registry_.agents()) {
    idle += agent.state == AgentState::kIdle;
    busy += agent.state == AgentState::kBusy;
    lost += agent.state == AgentState::kLost;
  }
  agentsIdle_ = idle;
  agentsBusy_ = busy;
  agentsLostNow_ = lost;
  const std::uint64_t waiting = runs_.waiting().size();
  runsWaiting_ = waiting;
  runsRunning_ = runs_.runs().size() - std::min<std::uint64_t>(waiting, runs_.runs().size());
}

// ---------------------------------------------------------------- the loop

void Broker::Loop::run() {
  spdlog::info("loads-broker {}: masters on {}, agents on {}, {}", LOADS_VERSION,
               frontend_.get(zmq::sockopt::last_endpoint),
               backend_.get(zmq::sockopt::last_endpoint),
               zap_ ? fmt::format("CURVE, {} master and {} agent keys allowed",
                                  options_.allowedMasters.size(), options_.allowedAgents.size())
                    : std::string("plain TCP (no keys)"));
  nextTick_ = now() + options_.heartbeatInterval;
  zmq::pollitem_t items[] = {{pipeIn_.handle(), 0, ZMQ_POLLIN, 0},
                             {frontend_.handle(), 0, ZMQ_POLLIN, 0},
                             {backend_.handle(), 0, ZMQ_POLLIN, 0}};
  TimePoint turnStart = now();
  for (;;) {
    auto wait = std::chrono::duration_cast<Duration>(nextTick_ - now());
    wait = std::clamp(
        wait, Duration(0),
        std::min(options_.heartbeatInterval, Duration(security::InboundGuard::kCheckInterval)));
    zmq::poll(items, 3, wait);
    excludeStall(turnStart, wait);
    turnStart = now();
    if (items[0].revents & ZMQ_POLLIN) break;
    // Bounded bursts keep one busy socket from starving the other and the timers.
    for (int i = 0; i < 100 && (items[1].revents & ZMQ_POLLIN); ++i) {
      if (!(frontend_.get(zmq::sockopt::events) & ZMQ_POLLIN)) break;
      receive(frontend_, true);
    }
    for (int i = 0; i < 100 && (items[2].revents & ZMQ_POLLIN); ++i) {
      if (!(backend_.get(zmq::sockopt::events) & ZMQ_POLLIN)) break;
      receive(backend_, false);
    }
    frontendGuard_->check();
    backendGuard_->check();
    connectionsCut_ = frontendGuard_->connectionsCut() + backendGuard_->connectionsCut();
    if (now() >= nextTick_) {
      onTick();
      refreshGauges();
      nextTick_ = now() + options_.heartbeatInterval;
    }
    dispatchWaiting();
  }
  // Shutting down: agents reconnect to the next broker, masters learn why.
  for (const auto& [id, agent] : registry_.agents()) {
    if (agent.state != AgentState::kLost)
      sendTo(backend_, agent.routingId, proto::Disconnect{"broker shutting down"});
  }
  for (const auto& [id, run] : runs_.runs()) {
    sendTo(frontend_, run.masterRoutingId, proto::Disconnect{"broker shutting down"});
  }
  spdlog::info("loads-broker stopped");
}

void Broker::Loop::receive(zmq::socket_t& socket, bool frontend) {
  std::vector<zmq::message_t> frames;
  try {
    if (!zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) return;
  } catch (const zmq::error_t& e) {
    countMalformed(frontend, "", std::string("receive failed: ") + e.what());
    return;
  }
  if (frames.empty()) return;
  ++(frontend ? messagesFrontend_ : messagesBackend_);
  for (const zmq::message_t& frame : frames) guard(frontend).delivered(frame);
  const std::string routingId(view(frames[0]));
  if (frames.size() != 2) {
    countMalformed(frontend, routingId,
                   std::to_string(frames.size() - 1) + " body frames, expected 1");
    return;
  }
  auto envelope = proto::decodeEnvelope(view(frames[1]), limits_);
  if (!envelope) {
    countMalformed(frontend, routingId, envelope.reason());
    // A LOADS peer of another version or with a newer message type can read an ERROR.
    if (envelope.error() == ErrorCode::kVersionMismatch ||
        envelope.error() == ErrorCode::kUnknownType) {
      sendError(socket, routingId, envelope.error(), envelope.reason());
    }
    return;
  }
  if (frontend) {
    onFrontend(routingId, envelope.value());
  } else {
    onBackend(routingId, peerKeyOf(frames[1]), envelope.value());
  }
}

void Broker::Loop::send(zmq::socket_t& socket, const std::string& routingId,
                        const std::string& body) {
  try {
    socket.send(zmq::buffer(routingId), zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    socket.send(zmq::buffer(body), zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::warn("could not send to a peer: {}", e.what());
  }
}

void Broker::Loop::sendError(zmq::socket_t& socket, const std::string& routingId, ErrorCode code,
                             std::string text) {
  ++errorsSent_;
  sendTo(socket, routingId, proto::Error{static_cast<std::uint16_t>(code), std::move(text)});
}

void Broker::Loop::countMalformed(bool frontend, const std::string& routingId,
                                  const std::string& reason) {
  const std::uint64_t count = frontend ? ++malformedFrontend_ : ++malformedBackend_;
  // Logged, but a flood of garbage must not flood the log.
  if (count <= 100 || count % 1000 == 0) {
    spdlog::warn("{}: malformed message #{} dropped: {}", frontend ? "frontend" : "backend", count,
                 reason);
  }
}

// ---------------------------------------------------------------- frontend

void Broker::Loop::onFrontend(const std::string& master, const proto::Envelope& envelope) {
  RunRecord* run = runs_.findByMaster(master);
  if (run) run->masterLastSeen = now();
  const MasterState state = !run                               ? MasterState::kStart
                            : run->state == RunState::kWaiting ? MasterState::kWaiting
                                                               : MasterState::kRunning;
  if (!allowed(kFrontendRules, envelope.type, bit(state))) {
    sendError(frontend_, master, ErrorCode::kUnexpected,
              envelope.typeName + (envelope.type == MessageType::kRun
                                       ? " while this connection already has a run in progress"
                                       : " is not a message a master sends to the broker"));
    return;
  }
  switch (envelope.type) {
    case MessageType::kRun:
      onRun(master, envelope);
      break;
    case MessageType::kStop:
      onStop(master, envelope);
      break;
    case MessageType::kPurge:
      onPurge(master);
      break;
    case MessageType::kPing:
      onPing(master);
      break;
    case MessageType::kRebalance:
      onRebalance(*run, envelope);
      break;  // RUNNING: run is set
    case MessageType::kHeartbeat:
      break;  // masterLastSeen is refreshed above
    case MessageType::kDisconnect:
      if (run) {
        const std::string runId = run->id;
        spdlog::info("run {}: its master disconnected, stopping it", runId);
        stopRun(*run);
        runs_.remove(runId);
      }
      break;
    default:
      break;  // not in kFrontendRules
  }
}

void Broker::Loop::onRun(const std::string& master, const proto::Envelope& envelope) {
  auto request = proto::decodeBody<proto::Run>(envelope);
  if (!request) {
    countMalformed(true, master, request.reason());
    sendError(frontend_, master, ErrorCode::kMalformed, request.reason());
    return;
  }
  if (std::string problem = proto::validateRun(request.value()); !problem.empty()) {
    refuse(master, ErrorCode::kMalformed, problem, request->agents);
    return;
  }
  RunRecord& run = runs_.add(master, std::move(request.value()), now());
  if (tryStart(run)) return;
  // Each waiting run holds its library: their number is capped.
  if (const auto waiting = runs_.waiting().size() - 1;
      run.request.waitAgentsMs > 0 && waiting >= options_.maxWaitingRuns) {
    const std::uint32_t wanted = run.request.agents;
    runs_.remove(run.id);
    refuse(master, ErrorCode::kNotEnoughAgents,
           "the broker already holds " + std::to_string(waiting) +
               " runs waiting for agents, its cap (--max-waiting-runs): try again later",
           wanted);
    return;
  }
  if (run.request.waitAgentsMs == 0) {
    const std::uint32_t wanted = run.request.agents;
    runs_.remove(run.id);
    refuse(master, ErrorCode::kNotEnoughAgents,
           "asked for " + std::to_string(wanted) + " agents, " +
               std::to_string(registry_.idleCount()) + " are idle (" +
               std::to_string(registry_.registeredCount()) + " registered)",
           wanted);
    return;
  }
  spdlog::info("run {}: waiting up to {} ms for {} idle agents", run.id, run.request.waitAgentsMs,
               run.request.agents);
}

void Broker::Loop::onStop(const std::string& peer, const proto::Envelope& envelope) {
  auto stop = proto::decodeBody<proto::Stop>(envelope);
  if (!stop) {
    countMalformed(true, peer, stop.reason());
    sendError(frontend_, peer, ErrorCode::kMalformed, stop.reason());
    return;
  }
  RunRecord* run = runs_.find(stop->runId);
  if (!run) {
    sendError(frontend_, peer, ErrorCode::kUnknownRun,
              "no run \"" + stop->runId + "\" on this broker: loads-master --ping lists the runs");
    return;
  }
  const std::string runId = run->id;
  const std::uint32_t told = stopRun(*run);  // may end the run record
  sendTo(frontend_, peer, proto::Stopped{runId, told});
}

// Forwards the master's new split to the run's agents that still run it.
void Broker::Loop::onRebalance(RunRecord& run, const proto::Envelope& envelope) {
  const std::string& master = run.masterRoutingId;
  auto rebalance = proto::decodeBody<proto::Rebalance>(envelope);
  if (!rebalance) {
    countMalformed(true, master, rebalance.reason());
    sendError(frontend_, master, ErrorCode::kMalformed, rebalance.reason());
    return;
  }
  if (rebalance->runId != run.id) {
    sendError(frontend_, master, ErrorCode::kUnknownRun,
              "REBALANCE for run \"" + rebalance->runId + "\": this connection's run is " + run.id);
    return;
  }
  std::string problem = proto::validateRebalance(rebalance.value());
  for (const auto& share : rebalance->shares) {
    if (problem.empty() && !run.slot(share.agentId)) {
      problem = "REBALANCE lists agent " + share.agentId + ", which is not in run " + run.id;
    }
  }
  if (!problem.empty()) {
    sendError(frontend_, master, ErrorCode::kMalformed, problem);
    return;
  }
  std::uint32_t told = 0;
  for (const auto& share : rebalance->shares) {
    AgentRecord* agent = registry_.find(share.agentId);
    if (run.slot(share.agentId)->state != SlotState::kRunning || !agent || agent->runId != run.id) {
      continue;
    }
    sendTo(backend_, agent->routingId, rebalance.value());
    ++told;
  }
  spdlog::info("run {}: {} lost, rebalanced over {} agents ({} told) from {} ms", run.id,
               rebalance->lost, rebalance->count, told, rebalance->fromMs);
}

void Broker::Loop::onPurge(const std::string& peer) {
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_.runs()) ids.push_back(id);
  for (const auto& id : ids) {
    if (RunRecord* run = runs_.find(id)) stopRun(*run);
  }
  sendTo(frontend_, peer, proto::Purged{static_cast<std::uint32_t>(ids.size())});
}

void Broker::Loop::onPing(const std::string& peer) {
  const TimePoint t = now();
  proto::Pong pong;
  pong.pid = static_cast<std::uint32_t>(::getpid());
  pong.version = LOADS_VERSION;
  pong.uptimeMs = millis(std::chrono::duration_cast<Duration>(t - startedAt_));
  for (const auto& [id, agent] : registry_.agents()) {
    pong.agents.push_back(
        {agent.id, agent.host, agent.cores, std::string(agentStateName(agent.state)), agent.runId,
         millis(std::chrono::duration_cast<Duration>(t - agent.lastSeen)), agent.version});
  }
  for (const auto& [id, run] : runs_.runs()) {
    proto::RunInfo info{run.id,
                        run.state == RunState::kWaiting ? "waiting" : "running",
                        run.request.agents,
                        {},
                        millis(std::chrono::duration_cast<Duration>(t - run.created)),
                        run.request.masterHost,
                        run.request.libraryName,
                        run.ended()};
    for (const auto& slot : run.slots) info.agents.push_back(slot.agentId);
    pong.runs.push_back(std::move(info));
  }
  sendTo(frontend_, peer, pong);
}

// ---------------------------------------------------------------- runs

bool Broker::Loop::tryStart(RunRecord& run) {
  std::vector<std::string> chosen = registry_.selectIdle(run.request.agents);
  if (chosen.empty()) return false;
  proto::RunAccepted accepted{run.id, {}};
  const TimePoint t = now();
  for (std::uint32_t index = 0; index < chosen.size(); ++index) {
    AgentRecord* agent = registry_.find(chosen[index]);
    registry_.assign(agent->id, run.id, t);
    run.slots.push_back({agent->id, agent->host, index, SlotState::kRunning, false});
    accepted.agents.push_back({agent->id, agent->host, index});
    // A library larger than one part is fetched by the agent part by part (NEED-LIBRARY).
    sendJob(run, run.slots.back(), *agent,
            !agent->libraries.contains(run.request.librarySha256) &&
                run.request.library.size() <= proto::kLibraryPartSize);
  }
  run.state = RunState::kRunning;
  ++runsAccepted_;
  sendTo(frontend_, run.masterRoutingId, accepted);
  spdlog::info("run {}: {} agents, library {} ({} bytes)", run.id, chosen.size(),
               run.request.libraryName, run.request.library.size());
  return true;
}

void Broker::Loop::sendJob(RunRecord& run, const RunSlot& slot, AgentRecord& agent,
                           bool withLibrary) {
  proto::Job job;
  job.runId = run.id;
  job.index = slot.index;
  job.count = static_cast<std::uint32_t>(run.request.agents);
  job.libraryName = run.request.libraryName;
  job.librarySha256 = run.request.librarySha256;
  job.options = run.request.options;
  job.resultsEndpoint = run.request.resultsEndpoint;
  job.agentId = agent.id;
  job.resultsCurve = run.request.resultsCurve;
  // The library is packed once, straight from the run, and handed to ZeroMQ without a
  // copy: a JOB queued for an agent costs one library, not four.
  if (withLibrary) std::swap(job.library, run.request.library);
  auto* buffer = new msgpack::sbuffer;
  proto::encodeTo(*buffer, job);
  if (withLibrary) std::swap(job.library, run.request.library);
  const std::size_t size = buffer->size();
  zmq::message_t body(buffer->release(), size, [](void* data, void*) { std::free(data); });
  delete buffer;
  try {
    backend_.send(zmq::buffer(agent.routingId),
                  zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    backend_.send(body, zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::warn("could not send a JOB to agent {}: {}", agent.id, e.what());
  }
  agent.libraries.insert(run.request.librarySha256);  // cached from now on
}

void Broker::Loop::refuse(const std::string& master, ErrorCode code, std::string text,
                          std::uint32_t wanted) {
  ++runsRefused_;
  spdlog::info("run refused: {}", text);
  sendTo(frontend_, master,
         proto::RunRefused{static_cast<std::uint16_t>(code), std::move(text), wanted,
                           registry_.idleCount(), registry_.registeredCount()});
}

std::uint32_t Broker::Loop::stopRun(RunRecord& run) {
  if (run.state == RunState::kWaiting) {
    const std::string master = run.masterRoutingId;
    const std::uint32_t wanted = run.request.agents;
    runs_.remove(run.id);
    refuse(master, ErrorCode::kNotEnoughAgents, "the run was stopped while waiting for agents",
           wanted);
    return 0;
  }
  std::uint32_t told = 0;
  for (const auto& slot : run.slots) {
    AgentRecord* agent = registry_.find(slot.agentId);
    if (slot.state != SlotState::kRunning || !agent || agent->runId != run.id) continue;
    sendTo(backend_, agent->routingId, proto::Stop{run.id});
    ++told;
  }
  spdlog::info("run {}: stop sent to {} agents", run.id, told);
  return told;
}

// The agent no longer works for its run (lost, disconnected, restarted).
void Broker::Loop::agentLeftRun(const AgentRecord& agent, const std::string& reason) {
  RunRecord* run = runs_.find(agent.runId);
  RunSlot* slot = run ? run->slot(agent.id) : nullptr;
  if (!slot || slot->state != SlotState::kRunning) return;
  slot->state = SlotState::kLost;
  spdlog::warn("run {}: agent {} on {} lost: {}", run->id, agent.id, agent.host, reason);
  sendTo(frontend_, run->masterRoutingId, proto::AgentLost{run->id, agent.id, agent.host, reason});
  finishIfDone(run->id);
}

void Broker::Loop::finishIfDone(const std::string& runId) {
  RunRecord* run = runs_.find(runId);
  if (run && run->finished()) {
    spdlog::info("run {}: every agent has ended", runId);
    runs_.remove(runId);
  }
}

// Waiting runs are served first come, first served: a large run is not starved by
// smaller ones behind it. A run that wants more agents than are registered cannot start
// until more register, so it holds up nobody behind it meanwhile.
void Broker::Loop::dispatchWaiting() {
  const std::vector<std::string> waiting = runs_.waiting();
  if (waiting.empty()) return;
  const std::uint32_t registered = registry_.registeredCount();
  for (const std::string& id : waiting) {
    RunRecord* run = runs_.find(id);
    if (!run || run->request.agents > registered) continue;
    if (!tryStart(*run)) return;
  }
}

// ---------------------------------------------------------------- backend

void Broker::Loop::onBackend(const std::string& routingId, const std::string& peerKey,
                             const proto::Envelope& envelope) {
  AgentRecord* agent = registry_.findByRouting(routingId);
  const AgentPeerState state = !agent                              ? AgentPeerState::kUnknown
                               : agent->state == AgentState::kIdle ? AgentPeerState::kIdle
                               : agent->state == AgentState::kBusy ? AgentPeerState::kBusy
                                                                   : AgentPeerState::kLost;
  // Any message is a sign of life (PROTOCOL.md §6), one answered with an ERROR too.
  if (agent && state != AgentPeerState::kLost) registry_.touch(*agent, now());
  if (!allowed(kBackendRules, envelope.type, bit(state))) {
    if (state == AgentPeerState::kUnknown || state == AgentPeerState::kLost) {
      sendError(backend_, routingId, ErrorCode::kNotRegistered,
                "this broker does not know you (it restarted, or you were silent too long): "
                "send HELLO");
    } else {
      sendError(backend_, routingId, ErrorCode::kUnexpected,
                envelope.typeName + " is not expected from a" +
                    (state == AgentPeerState::kIdle ? "n idle" : " busy") + " agent");
    }
    return;
  }
  switch (envelope.type) {
    case MessageType::kHello:
      onHello(routingId, peerKey, envelope);
      break;
    case MessageType::kHeartbeat:
      break;
    case MessageType::kJobEnded:
      onJobEnded(*agent, envelope);
      break;
    case MessageType::kNeedLibrary:
      onNeedLibrary(*agent, envelope);
      break;
    case MessageType::kDisconnect:
      onAgentDisconnect(*agent);
      break;
    default:
      break;  // not in kBackendRules
  }
}

void Broker::Loop::onHello(const std::string& routingId, const std::string& peerKey,
                           const proto::Envelope& envelope) {
  auto hello = proto::decodeBody<proto::Hello>(envelope);
  ErrorCode code = ErrorCode::kMalformed;
  const std::string reason = hello ? proto::validateHello(hello.value(), code) : hello.reason();
  if (!reason.empty()) {
    countMalformed(false, routingId, reason);
    sendError(backend_, routingId, code, reason);
    return;
  }
  // An agent id belongs to the key that registered it (while the broker remembers the
  // agent): another key holder must not take its slot, its library and its run key.
  if (const AgentRecord* known = registry_.find(hello->agentId); known && known->key != peerKey) {
    ++agentIdsRefused_;
    spdlog::warn(
        "HELLO as agent {} refused: that id is registered with the key {}, this peer "
        "has {}",
        hello->agentId, known->key.empty() ? "(none)" : known->key,
        peerKey.empty() ? "(none)" : peerKey);
    sendError(backend_, routingId, ErrorCode::kDuplicate,
              "agent id \"" + hello->agentId +
                  "\" is registered with another key: give this agent its own --id");
    return;
  }
  // Two live agents with one id would take the id from each other forever (each ERROR
  // 407 makes the loser say HELLO again): the id stays with the one that heartbeats. The
  // same process on a new socket (same host and pid) is a reconnect, and takes it; so
  // does any agent once the holder missed 3 heartbeats (it crashed and was restarted).
  if (const AgentRecord* holder = registry_.find(hello->agentId);
      holder && holder->routingId != routingId && holder->state != AgentState::kLost &&
      (holder->host != hello->host || holder->pid != hello->pid) &&
      now() - holder->lastSeen < 3 * options_.heartbeatInterval) {
    sendError(backend_, routingId, ErrorCode::kDuplicate,
              "agent id \"" + hello->agentId + "\" is taken by a live agent on " + holder->host +
                  " (pid " + std::to_string(holder->pid) + "): give each agent its own --id");
    return;
  }
  auto registration = registry_.registerAgent(hello.value(), routingId, now(), peerKey);
  if (registration.replaced) agentLeftRun(*registration.replaced, "agent restarted");
  spdlog::info("agent {} on {} registered ({} cores)", hello->agentId, hello->host, hello->cores);
  sendTo(backend_, routingId,
         proto::Welcome{static_cast<std::uint32_t>(options_.heartbeatInterval.count()),
                        options_.liveness, LOADS_VERSION, options_.maxMessageSize});
  if (!registration.undeliveredJob.empty()) resendJob(registration.undeliveredJob, hello->agentId);
  if (hello->runId.empty()) return;
  // A slave still running from before a reconnect: keep it only if its run still
  // counts on it; otherwise stop it (the agent stays busy until JOB-ENDED).
  RunRecord* run = runs_.find(hello->runId);
  RunSlot* slot = run ? run->slot(hello->agentId) : nullptr;
  if (!slot || slot->state != SlotState::kRunning) {
    sendTo(backend_, routingId, proto::Stop{hello->runId});
  }
}

// The JOB went to a connection the agent had left before it could read it (a broker that
// woke from a pause and sent on a dead connection): the same JOB again, on the new one.
void Broker::Loop::resendJob(const std::string& runId, const std::string& agentId) {
  RunRecord* run = runs_.find(runId);
  RunSlot* slot = run ? run->slot(agentId) : nullptr;
  AgentRecord* agent = registry_.find(agentId);
  if (!slot || !agent) return;
  spdlog::info("run {}: agent {} reconnected before it read its JOB: sending it again", runId,
               agentId);
  sendJob(*run, *slot, *agent,
          !agent->libraries.contains(run->request.librarySha256) &&
              run->request.library.size() <= proto::kLibraryPartSize);
}

void Broker::Loop::onJobEnded(AgentRecord& agent, const proto::Envelope& envelope) {
  auto ended = proto::decodeBody<proto::JobEnded>(envelope);
  if (!ended) {
    countMalformed(false, agent.routingId, ended.reason());
    sendError(backend_, agent.routingId, ErrorCode::kMalformed, ended.reason());
    return;
  }
  if (ended->runId != agent.runId) {
    sendError(
        backend_, agent.routingId, ErrorCode::kUnknownRun,
        "JOB-ENDED for run \"" + ended->runId + "\", but you are running \"" + agent.runId + "\"");
    return;
  }
  const std::string runId = agent.runId;
  registry_.release(agent.id);
  RunRecord* run = runs_.find(runId);
  RunSlot* slot = run ? run->slot(agent.id) : nullptr;
  if (!slot || slot->state != SlotState::kRunning) return;  // run gone: nobody to tell
  slot->state = SlotState::kDone;
  sendTo(
      frontend_, run->masterRoutingId,
      proto::AgentDone{runId, agent.id, agent.host, ended->exitCode, ended->signal, ended->reason});
  finishIfDone(runId);
}

void Broker::Loop::onNeedLibrary(AgentRecord& agent, const proto::Envelope& envelope) {
  auto need = proto::decodeBody<proto::NeedLibrary>(envelope);
  if (!need) {
    countMalformed(false, agent.routingId, need.reason());
    sendError(backend_, agent.routingId, ErrorCode::kMalformed, need.reason());
    return;
  }
  RunRecord* run = runs_.find(agent.runId);
  RunSlot* slot = run ? run->slot(agent.id) : nullptr;
  // The library, or one of the run's data files (fetched the same way, by sha256).
  const proto::Bytes* blob =
      slot && need->runId == run->id ? run->request.blob(need->librarySha256) : nullptr;
  if (!blob) {
    sendError(backend_, agent.routingId, ErrorCode::kUnknownRun,
              "NEED-LIBRARY for a run or library this broker does not hold for you");
    return;
  }
  if (need->length > 0) {
    // Part by part: each part may be asked for again (a lost reply, a reconnect) up to
    // 4 times, so an agent that reads nothing costs at most 4 times the library and the
    // data files, part by part.
    const auto partsOf = [](const proto::Bytes& bytes) {
      return (bytes.size() + proto::kLibraryPartSize - 1) / proto::kLibraryPartSize;
    };
    std::uint64_t parts = partsOf(run->request.library);
    for (const proto::Bytes& file : run->request.files) parts += partsOf(file);
    if (slot->partsSent >= 4 * parts + 4) {
      sendError(backend_, agent.routingId, ErrorCode::kUnexpected,
                "NEED-LIBRARY for run " + run->id + ": every part was sent 4 times already");
      return;
    }
    ++slot->partsSent;
    agent.libraries.erase(need->librarySha256);
    return sendLibraryPart(*run, agent, need->librarySha256, *blob, need->offset, need->length);
  }
  if (blob != &run->request.library) {
    sendError(backend_, agent.routingId, ErrorCode::kMalformed,
              "NEED-LIBRARY for a data file must ask for a part (length > 0)");
    return;
  }
  // One answer per job: an agent that asks again (and perhaps reads nothing) would make
  // the broker queue a whole library per ~100-byte request.
  if (slot->libraryResent) {
    sendError(backend_, agent.routingId, ErrorCode::kUnexpected,
              "NEED-LIBRARY again for run " + run->id +
                  ": the broker answers one NEED-LIBRARY per job and has answered it");
    return;
  }
  slot->libraryResent = true;
  agent.libraries.erase(need->librarySha256);
  sendJob(*run, *slot, agent, true);
}

// One part, never more than kLibraryPartSize: what one NEED-LIBRARY can make the broker
// queue, and how long it holds the heartbeats behind it on a slow link.
void Broker::Loop::sendLibraryPart(RunRecord& run, AgentRecord& agent, const std::string& sha256,
                                   const proto::Bytes& library, std::uint64_t offset,
                                   std::uint64_t length) {
  if (offset >= library.size()) {
    sendError(backend_, agent.routingId, ErrorCode::kMalformed,
              "NEED-LIBRARY offset " + std::to_string(offset) + " is past the library's " +
                  std::to_string(library.size()) + " bytes");
    return;
  }
  const std::uint64_t size = std::min({length, proto::kLibraryPartSize, library.size() - offset});
  proto::LibraryPart part{
      run.id, sha256, offset, library.size(),
      proto::Bytes(library.begin() + static_cast<std::ptrdiff_t>(offset),
                   library.begin() + static_cast<std::ptrdiff_t>(offset + size))};
  sendTo(backend_, agent.routingId, part);
}

void Broker::Loop::onAgentDisconnect(AgentRecord& agent) {
  spdlog::info("agent {} on {} disconnected", agent.id, agent.host);
  if (auto old = registry_.remove(agent.id); old && old->state == AgentState::kBusy) {
    agentLeftRun(*old, "agent disconnected");
  }
}

// ---------------------------------------------------------------- timers

// Peers are judged on the broker's running time. A turn of the loop that took far longer
// than its poll's timeout means the broker itself did not run (stopped, paused, starved):
// its peers' heartbeats are queued unread, and blaming them for that silence would call
// every agent and master lost the moment the broker wakes up.
void Broker::Loop::excludeStall(TimePoint turnStart, Duration pollWait) {
  const auto excess = std::chrono::duration_cast<Duration>(now() - turnStart) - pollWait;
  if (excess <= options_.heartbeatInterval) return;
  stalled_ += excess;
  spdlog::warn(
      "the broker did not run for {} ms: its peers' silence during that time is not "
      "held against them",
      millis(excess));
}

void Broker::Loop::onTick() {
  const TimePoint t = now();
  for (const AgentRecord& lost : registry_.expireSilent(t)) {
    ++agentsLost_;
    spdlog::warn("agent {} on {} silent for {} ms: lost", lost.id, lost.host,
                 registry_.expiry().count());
    if (lost.state == AgentState::kBusy) {
      agentLeftRun(lost, "no heartbeat for " + std::to_string(registry_.expiry().count()) + " ms");
    }
  }
  registry_.forgetLost(t, options_.lostRetention);
  for (const std::string& id : runs_.silentMasters(t, registry_.expiry())) {
    if (RunRecord* run = runs_.find(id)) {
      spdlog::warn("run {}: its master is silent, stopping the run", id);
      stopRun(*run);  // may remove a waiting run already
      runs_.remove(id);
    }
  }
  for (const std::string& id : runs_.expiredWaits(t)) {
    RunRecord* run = runs_.find(id);
    const std::string master = run->masterRoutingId;
    const std::uint32_t wanted = run->request.agents;
    const auto waited = run->request.waitAgentsMs;
    runs_.remove(id);
    refuse(master, ErrorCode::kNotEnoughAgents,
           "asked for " + std::to_string(wanted) + " agents, " +
               std::to_string(registry_.idleCount()) + " are idle (" +
               std::to_string(registry_.registeredCount()) + " registered) after waiting " +
               std::to_string(waited) + " ms",
           wanted);
  }
  for (const auto& [id, agent] : registry_.agents()) {
    if (agent.state != AgentState::kLost) sendTo(backend_, agent.routingId, proto::Heartbeat{});
  }
  for (const auto& [id, run] : runs_.runs()) {
    sendTo(frontend_, run.masterRoutingId, proto::Heartbeat{});
  }
}

// ---------------------------------------------------------------- Broker

Broker::Broker(BrokerOptions options) : loop_(std::make_unique<Loop>(std::move(options))) {
  loop_->bind(frontendEndpoint_, backendEndpoint_);
}

Broker::~Broker() { stop(); }

void Broker::start() {
  if (thread_.joinable()) return;
  if (loop_->metricsAddress() && !metrics_) {  // throws std::runtime_error when it cannot bind
    metrics_ = std::make_unique<MetricsServer>(*loop_->metricsAddress(), kOpenMetricsContentType,
                                               [this] { return brokerMetricsText(stats()); });
    spdlog::info("metrics: {}", metrics_->url());
  }
  thread_ = std::thread([this] { loop_->run(); });
}

std::string Broker::metricsUrl() const { return metrics_ ? metrics_->url() : ""; }

void Broker::stop() {
  if (!thread_.joinable()) return;
  loop_->requestStop();
  thread_.join();
}

BrokerStats Broker::stats() const { return loop_->stats(); }

}  // namespace loads::broker
