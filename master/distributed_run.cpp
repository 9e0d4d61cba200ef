#include "master/distributed_run.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <zmq.hpp>

#include "loads/version.hpp"
#include "master/live_dashboard.hpp"
#include "master/rebalance.hpp"
#include "master/report_files.hpp"
#include "master/results_receiver.hpp"
#include "proto/messages.hpp"
#include "report/console_output.hpp"
#include "report/json_output.hpp"
#include "run/test_library.hpp"
#include "stats/aggregate_result.hpp"
#include "util/host_name.hpp"

namespace loads::master {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using proto::MessageType;

constexpr auto kBrokerAnswer = 5s;      // a command or RUN unanswered this long: no broker
constexpr auto kBrokerSilence = 6s;     // nothing at all from the broker during a run: gone
constexpr auto kHeartbeat = 1s;         // our heartbeats (and answers to the broker's)
constexpr auto kFinalGrace = 3s;        // wait for STOP-TEST-RUN after AGENT-DONE
constexpr auto kScheduleLead = 2s;      // --rate/--stages: common time 0 this far after RUN
constexpr auto kRebalanceLead = 500ms;  // --rebalance: a new split applies this far ahead
constexpr int kInfraError = 3;

std::string seconds(Clock::duration d) {
  std::ostringstream s;
  s << std::chrono::duration_cast<std::chrono::seconds>(d).count() << " s";
  return s.str();
}

// The master's DEALER to the broker's frontend. Malformed replies are counted and dropped.
class BrokerLink {
 public:
  BrokerLink(const std::string& endpoint, const security::KeyPair& key,
             const std::string& brokerKey)
      : endpoint_(endpoint), secured_(!key.empty()), socket_(context_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 500);
    if (secured_) security::makeCurveClient(socket_, key, brokerKey);
    socket_.connect(endpoint);
  }
  template <class T>
  void send(const T& message) {
    socket_.send(zmq::buffer(proto::encode(message)), zmq::send_flags::dontwait);
    lastSent_ = Clock::now();
  }
  // The next valid envelope within `timeout`, or nullopt.
  std::optional<proto::Envelope> receive(Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    for (;;) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      zmq::poll(&item, 1, std::max(left, 0ms));
      if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
      zmq::message_t message;
      if (!socket_.recv(message, zmq::recv_flags::dontwait)) continue;
      lastHeard_ = Clock::now();
      auto envelope = proto::decodeEnvelope(message.to_string_view());
      if (envelope) return std::move(envelope.value());
      if (envelope.error() == proto::ErrorCode::kVersionMismatch) {
        throw std::runtime_error("the broker at " + endpoint_ + " speaks another protocol (" +
                                 envelope.reason() +
                                 "): run the same loads version on master, broker and agents");
      }
      std::cerr << "loads-master: malformed message from the broker dropped: " << envelope.reason()
                << std::endl;
    }
  }
  // Keeps the broker from declaring this master gone (PROTOCOL.md §6).
  void heartbeatIfDue() {
    if (Clock::now() - lastSent_ >= kHeartbeat) send(proto::Heartbeat{});
  }
  Clock::duration silentFor() const { return Clock::now() - lastHeard_; }
  const std::string& endpoint() const { return endpoint_; }
  std::string noAnswer() const {
    return "no broker answered at " + endpoint_ +
           (secured_ ? ": start loads-broker, pass --broker, or check that --broker-key is the "
                       "broker's key and that the broker allows this master's key (its log "
                       "names refused keys)"
                     : ": start loads-broker or pass --broker (a broker with keys also needs "
                       "--key and --broker-key)");
  }

 private:
  std::string endpoint_;
  bool secured_;
  zmq::context_t context_{1};
  zmq::socket_t socket_;
  Clock::time_point lastSent_ = Clock::now();
  Clock::time_point lastHeard_ = Clock::now();
};

std::string errorText(const proto::Envelope& envelope) {
  auto error = proto::decodeBody<proto::Error>(envelope);
  return "the broker answered ERROR " +
         (error ? std::to_string(error->code) + ": " + error->text : envelope.typeName);
}

// Prints an ERROR from the broker; a version mismatch or other error is exit 3.
int reportError(const proto::Envelope& envelope) {
  std::cerr << "loads-master: " << errorText(envelope) << std::endl;
  return kInfraError;
}

// One request, one answer of type T (control commands).
template <class T, class Request>
std::optional<T> ask(BrokerLink& link, const Request& request, int& code) {
  link.send(request);
  const auto deadline = Clock::now() + kBrokerAnswer;
  while (Clock::now() < deadline) {
    auto envelope = link.receive(deadline - Clock::now());
    if (!envelope) break;
    if (envelope->type == MessageType::kError) {
      code = reportError(*envelope);
      return std::nullopt;
    }
    if (envelope->type != T::kType) continue;  // e.g. a HEARTBEAT
    auto answer = proto::decodeBody<T>(*envelope);
    if (answer) return std::move(answer.value());
    std::cerr << "loads-master: bad answer from the broker: " << answer.reason() << std::endl;
    code = kInfraError;
    return std::nullopt;
  }
  std::cerr << "loads-master: " << link.noAnswer() << std::endl;
  code = kInfraError;
  return std::nullopt;
}

// ---------------------------------------------------------------- a run's agents

enum class AgentState { kRunning, kDone, kLost };

struct AgentRow {
  proto::AssignedAgent assigned;
  AgentState state = AgentState::kRunning;
  int exitCode = 0;
  int signal = 0;
  std::string reason;
  Clock::time_point endedAt;
  std::uint32_t share = 0;  // the index of its current share (changes with --rebalance)
  bool leaveSeen = false;   // --rebalance: its early end was looked at
  bool shareMoved = false;  // --rebalance: its share went to the others
};

// Ended before the run did: lost, or its slave crashed or failed.
bool leftEarly(const AgentRow& row) {
  return row.state == AgentState::kLost ||
         (row.state == AgentState::kDone &&
          (row.signal != 0 || row.exitCode >= 2 || row.exitCode < 0));
}

bool agentFinished(const AgentRow& row, const std::map<std::string, AgentTally>& tallies) {
  if (row.state == AgentState::kLost) return true;
  if (row.state != AgentState::kDone) return false;
  auto it = tallies.find(row.assigned.agentId);
  const bool final = it != tallies.end() && it->second.final;
  return final || Clock::now() - row.endedAt >= kFinalGrace;
}

// The run's JobOptions from the master's options (one cycle: checked by the caller).
proto::JobOptions jobOptions(const MasterOptions& o) {
  proto::JobOptions job;
  for (const auto& t : o.tests) job.tests += (job.tests.empty() ? "" : ",") + t;
  job.users = static_cast<std::uint32_t>(o.run.userCycles.at(0));
  job.hits = o.run.hitCycles.empty() ? 0 : o.run.hitCycles[0];
  job.durationMs = o.run.duration ? static_cast<std::uint64_t>(o.run.duration->count()) : 0;
  job.serverUrl = o.run.user.serverUrl;
  job.threads = o.run.threads;
  job.args = {"ramp-ms=" + std::to_string(o.run.ramp.count()),
              "stop-timeout-ms=" + std::to_string(o.run.stopTimeout.count()),
              "timeout-ms=" + std::to_string(o.run.user.requestTimeout.count()),
              std::string("insecure=") + (o.run.user.insecure ? "true" : "false")};
  if (o.run.rate) {
    job.rateStages = formatStages(o.run.rate->stages());
    job.rateStart = o.run.rate->start();
    job.maxUsers = o.run.maxUsers;
  }
  if (o.run.userStages) job.userStages = formatStages(o.run.userStages->stages());
  if (o.run.rate || o.run.userStages) {
    // Time 0 of the schedule for every agent: far enough ahead for jobs to reach them.
    job.startAtUs = std::chrono::duration_cast<std::chrono::microseconds>(
                        (std::chrono::system_clock::now() + kScheduleLead).time_since_epoch())
                        .count();
  }
  return job;
}

std::optional<proto::Bytes> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return proto::Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string endedText(const AgentRow& row, const AgentTally* tally) {
  if (row.state == AgentState::kLost) return "LOST: " + row.reason;
  if (row.state == AgentState::kRunning) return "no end reported";
  if (row.signal != 0)
    return row.reason.empty() ? "killed by signal " + std::to_string(row.signal) : row.reason;
  if (row.exitCode != 0)
    return row.reason.empty() ? "exit code " + std::to_string(row.exitCode) : row.reason;
  return row.reason.empty() ? "ok" : row.reason;
}

// Per agent: how it ended, events sent vs received, hits. Returns the problems found,
// one sentence each; every gap is one of them.
std::vector<std::string> printAgents(const std::vector<AgentRow>& rows,
                                     const std::map<std::string, AgentTally>& tallies,
                                     const Snapshot& snap, nlohmann::ordered_json& json) {
  std::vector<std::string> problems;
  std::cout << "\nAgents\n";
  std::cout << "  " << std::left << std::setw(22) << "agent" << std::setw(16) << "host"
            << std::setw(30) << "ended" << std::right << std::setw(12) << "events sent"
            << std::setw(12) << "received" << std::setw(10) << "hits"
            << "\n";
  json = nlohmann::ordered_json::array();
  for (const AgentRow& row : rows) {
    auto it = tallies.find(row.assigned.agentId);
    const AgentTally* tally = it == tallies.end() ? nullptr : &it->second;
    const std::uint64_t received = tally ? tally->received : 0;
    const bool final = tally && tally->final;
    const std::uint64_t sent = tally ? tally->eventsSent : 0;
    auto hitsIt = snap.requestsBySource.find(row.assigned.index);
    const std::uint64_t hits = hitsIt == snap.requestsBySource.end() ? 0 : hitsIt->second;
    const std::string who = "agent " + row.assigned.agentId + " on " + row.assigned.host;
    std::string sentText = final ? formatCount(sent) : "?";
    if (row.shareMoved) {
      // Reported under "Rebalanced": with --rebalance a lost agent is expected, not a fault.
    } else if (row.state == AgentState::kLost) {
      problems.push_back(who + " was lost (" + row.reason + "); its results up to then are kept");
    } else if (row.signal != 0 || row.exitCode >= 2 || row.exitCode < 0) {
      problems.push_back(who + ": its slave " + endedText(row, tally));
    }
    if (final && sent != received) {
      problems.push_back(who + " sent " + formatCount(sent) + " events, " + formatCount(received) +
                         " arrived: " + formatCount(sent > received ? sent - received : 0) +
                         " missing");
    } else if (!final && row.state != AgentState::kLost) {
      problems.push_back(who + ": no STOP-TEST-RUN arrived, so events may be missing (" +
                         formatCount(received) + " received)");
    }
    std::cout << "  " << std::left << std::setw(22) << row.assigned.agentId << std::setw(16)
              << row.assigned.host << std::setw(30) << endedText(row, tally).substr(0, 29)
              << std::right << std::setw(12) << sentText << std::setw(12) << formatCount(received)
              << std::setw(10) << formatCount(hits) << "\n";
    json.push_back(
        {{"id", row.assigned.agentId},
         {"host", row.assigned.host},
         {"index", row.assigned.index},
         {"state", row.state == AgentState::kLost   ? "lost"
                   : row.state == AgentState::kDone ? "done"
                                                    : "running"},
         {"exit_code", row.exitCode},
         {"signal", row.signal},
         {"reason", row.reason},
         {"events_sent", final ? nlohmann::ordered_json(sent) : nlohmann::ordered_json(nullptr)},
         {"events_received", received},
         {"hits", hits}});
  }
  return problems;
}

}  // namespace

DistributedRun::DistributedRun(const MasterOptions& options, SignalWaiter& signals)
    : options_(options), signals_(signals) {}

int DistributedRun::run() {
  if (options_.ping) return ping();
  if (!options_.stopRun.empty()) return stopRun();
  if (options_.purge) return purge();
  return runOnAgents();
}

// ---------------------------------------------------------------- commands

int DistributedRun::ping() {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto pong = ask<proto::Pong>(link, proto::Ping{}, code);
  if (!pong) return code;
  std::cout << "broker " << options_.broker << ": pid " << pong->pid << ", loads " << pong->version
            << ", protocol " << pong->protocol << ", up " << pong->uptimeMs / 1000 << " s\n";
  std::cout << "agents (" << pong->agents.size() << ")\n";
  for (const auto& a : pong->agents) {
    std::cout << "  " << std::left << std::setw(24) << a.id << std::setw(20) << a.host
              << std::setw(6) << a.state << " run " << (a.runId.empty() ? "-" : a.runId)
              << "  cores " << a.cores << "  silent " << a.silentMs << " ms\n";
  }
  std::cout << "runs in progress (" << pong->runs.size() << ")\n";
  for (const auto& r : pong->runs) {
    std::cout << "  " << r.runId << "  " << r.state << "  " << r.agents.size() << "/"
              << r.agentsWanted << " agents, " << r.ended << " ended, " << r.ageMs / 1000
              << " s, master " << r.masterHost << ", " << r.libraryName << "\n";
  }
  return 0;
}

int DistributedRun::stopRun() {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto stopped = ask<proto::Stopped>(link, proto::Stop{options_.stopRun}, code);
  if (!stopped) return code;
  std::cout << "run " << stopped->runId << ": stop sent to " << stopped->agents << " agents\n";
  return 0;
}

int DistributedRun::purge() {
  BrokerLink link(options_.broker, options_.key, options_.brokerKey);
  int code = 0;
  auto purged = ask<proto::Purged>(link, proto::Purge{}, code);
  if (!purged) return code;
  std::cout << "purged: " << purged->runs << " runs stopped\n";
  return 0;
}

// ---------------------------------------------------------------- a run

namespace {

// Waits for RUN-ACCEPTED. Returns it, or nullopt with `code` set after saying why.
std::optional<proto::RunAccepted> awaitStart(BrokerLink& link, SignalWaiter& signals,
                                             std::chrono::milliseconds waitAgents, int& code) {
  bool heardAnything = false;
  const auto deadline = Clock::now() + waitAgents + kBrokerAnswer;
  while (Clock::now() < deadline) {
    if (signals.wait(0ms) == Wake::kInterrupt) {
      link.send(proto::Disconnect{"interrupted"});
      std::cerr << "loads-master: interrupted while waiting for agents" << std::endl;
      code = kInfraError;
      return std::nullopt;
    }
    auto envelope = link.receive(100ms);
    link.heartbeatIfDue();
    if (!envelope) {
      if (!heardAnything && link.silentFor() >= kBrokerAnswer) break;
      continue;
    }
    heardAnything = true;
    // Answered as during the run: with a short broker heartbeat, our own once a second
    // would come too late and a master waiting for agents would lose its place.
    if (envelope->type == MessageType::kHeartbeat) link.send(proto::Heartbeat{});
    if (envelope->type == MessageType::kError) {
      code = reportError(*envelope);
      return std::nullopt;
    }
    if (envelope->type == MessageType::kRunRefused) {
      auto refused = proto::decodeBody<proto::RunRefused>(*envelope);
      std::cerr << "loads-master: " << (refused ? refused->text : "the broker refused the run")
                << std::endl;
      code = refused && refused->code == 400 ? 2 : kInfraError;
      return std::nullopt;
    }
    if (envelope->type == MessageType::kRunAccepted) {
      auto accepted = proto::decodeBody<proto::RunAccepted>(*envelope);
      if (accepted) return std::move(accepted.value());
      std::cerr << "loads-master: bad RUN-ACCEPTED: " << accepted.reason() << std::endl;
      code = kInfraError;
      return std::nullopt;
    }
  }
  link.send(proto::Disconnect{"gave up waiting"});
  std::cerr << "loads-master: "
            << (heardAnything
                    ? "the broker at " + link.endpoint() + " did not start the run in time"
                    : link.noAnswer())
            << std::endl;
  code = kInfraError;
  return std::nullopt;
}

// Applies one broker message to the run's agents. Returns why the master's follow ends
// (an ERROR, or the broker shutting down), nullopt to go on.
std::optional<std::string> onBrokerMessage(const proto::Envelope& envelope,
                                           std::vector<AgentRow>& rows, const std::string& runId) {
  auto rowFor = [&](const std::string& id) -> AgentRow* {
    for (auto& row : rows) {
      if (row.assigned.agentId == id) return &row;
    }
    return nullptr;
  };
  switch (envelope.type) {
    case MessageType::kAgentDone: {
      auto done = proto::decodeBody<proto::AgentDone>(envelope);
      AgentRow* row = done && done->runId == runId ? rowFor(done->agentId) : nullptr;
      if (!row || row->state != AgentState::kRunning) return std::nullopt;
      *row = {row->assigned, AgentState::kDone, done->exitCode,
              done->signal,  done->reason,      Clock::now()};
      if (done->signal != 0 || done->exitCode >= 2) {
        std::cerr << "\nloads-master: agent " << done->agentId << " on " << done->host << ": slave "
                  << endedText(*row, nullptr) << std::endl;
      }
      return std::nullopt;
    }
    case MessageType::kAgentLost: {
      auto lost = proto::decodeBody<proto::AgentLost>(envelope);
      AgentRow* row = lost && lost->runId == runId ? rowFor(lost->agentId) : nullptr;
      if (!row || row->state != AgentState::kRunning) return std::nullopt;
      row->state = AgentState::kLost;
      row->reason = lost->reason;
      row->endedAt = Clock::now();
      std::cerr << "\nloads-master: agent " << lost->agentId << " on " << lost->host << " lost ("
                << lost->reason << "): keeping its results so far, going on with the others"
                << std::endl;
      return std::nullopt;
    }
    case MessageType::kDisconnect:
      return "the broker is shutting down: reporting what arrived";
    case MessageType::kError:
      return errorText(envelope) + ": reporting what arrived";
    default:
      return std::nullopt;  // HEARTBEAT, STOPPED, ...
  }
}

std::string agentsColumn(const std::vector<AgentRow>& rows) {
  std::size_t running = 0;
  for (const auto& row : rows) running += row.state == AgentState::kRunning;
  return "  agents " + std::to_string(running) + "/" + std::to_string(rows.size());
}

// The agents as the --web dashboard lists them.
std::vector<DashboardAgent> dashboardAgents(const std::vector<AgentRow>& rows,
                                            const std::map<std::string, AgentTally>& tallies) {
  std::vector<DashboardAgent> agents;
  for (const AgentRow& row : rows) {
    auto tally = tallies.find(row.assigned.agentId);
    agents.push_back({row.assigned.agentId, row.assigned.host, row.assigned.index,
                      row.state == AgentState::kLost   ? "lost"
                      : row.state == AgentState::kDone ? "done"
                                                       : "running",
                      tally == tallies.end() ? 0 : tally->second.received});
  }
  return agents;
}

// The schedule offset from which a new split applies; nullopt when the run is over.
std::optional<std::uint64_t> rebalanceFrom(const proto::JobOptions& job, const RunOptions& run,
                                           Clock::time_point runStart) {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  if (job.startAtUs > 0) {  // --rate or --stages: the same offset for every agent
    const std::int64_t nowUs = duration_cast<std::chrono::microseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    const auto from = std::max<std::int64_t>(0, (nowUs - job.startAtUs) / 1000) +
                      duration_cast<milliseconds>(kRebalanceLead).count();
    const Micros length = run.rate ? run.rate->length() : run.userStages->length();
    if (from >= duration_cast<milliseconds>(length).count()) return std::nullopt;
    return static_cast<std::uint64_t>(from);
  }
  if (run.duration && Clock::now() - runStart >= *run.duration) return std::nullopt;
  return 0;  // a closed run: at once
}

// --rebalance: the share of each agent that left early goes to those still running.
void rebalanceLeavers(BrokerLink& link, std::vector<AgentRow>& rows, const std::string& runId,
                      const proto::JobOptions& job, const RunOptions& run,
                      Clock::time_point runStart, std::vector<RebalanceEvent>& events) {
  for (AgentRow& left : rows) {
    if (left.leaveSeen || !leftEarly(left)) continue;
    left.leaveSeen = true;
    std::vector<ShareHolder> holders;
    for (const AgentRow& row : rows) {
      if (row.state == AgentState::kRunning)
        holders.push_back({row.assigned.agentId, row.assigned.host, row.share});
    }
    const auto fromMs = rebalanceFrom(job, run, runStart);
    if (holders.empty() || !fromMs) continue;
    const proto::Rebalance message = planRebalance(runId, holders, *fromMs, left.assigned.agentId);
    link.send(message);
    left.shareMoved = true;
    for (const auto& share : message.shares) {
      for (AgentRow& row : rows) {
        if (row.assigned.agentId == share.agentId) row.share = share.index;
      }
    }
    RebalanceEvent event = describeRebalance(message, holders, job, run);
    event.atMs = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - runStart).count());
    event.lostId = left.assigned.agentId;
    event.lostHost = left.assigned.host;
    event.reason = left.state == AgentState::kLost ? left.reason : endedText(left, nullptr);
    event.appliesAtUs = job.startAtUs > 0
                            ? job.startAtUs + static_cast<std::int64_t>(*fromMs) * 1000
                            : std::chrono::duration_cast<std::chrono::microseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
    std::cerr << "\nloads-master: rebalancing: agent " << event.lostId << " left, " << event.count
              << " agents share the run from " << event.fromMs
              << " ms into the schedule (--rebalance)" << std::endl;
    events.push_back(std::move(event));
  }
}

}  // namespace

int DistributedRun::runOnAgents() {
  const MasterOptions& o = options_;
  if (o.run.userCycles.size() != 1 || o.run.hitCycles.size() > 1) {
    std::cerr << "loads-master: cycles (-u 10:20, --hits 5:10) are not supported with --agents "
                 "yet: give one value each"
              << std::endl;
    return 2;
  }
  if (o.run.rate && o.run.maxUsers < o.agents) {
    std::cerr << "loads-master: --agents " << o.agents << " needs --max-users of at least "
              << o.agents << " (the pool is split over the agents)" << std::endl;
    return 2;
  }
  const bool scheduled = o.run.rate || o.run.userStages;
  if (!scheduled && (o.run.userCycles[0] < o.agents || o.run.userCycles[0] > 0xffffffffu)) {
    std::cerr << "loads-master: --agents " << o.agents << " needs at least " << o.agents
              << " users (-u is the total over all agents, each runs at least one)" << std::endl;
    return 2;
  }
  std::vector<SelectedTest> tests;
  TestLibrary library;
  try {
    library = TestLibrary::load(o.library);  // fail here, not on every agent
    tests = library.select(o.tests);
  } catch (const LoadError& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 2;
  }
  auto bytes = readFile(o.library);
  if (!bytes || bytes->empty()) {
    std::cerr << "loads-master: cannot read " << o.library << std::endl;
    return 2;
  }

  AggregateOptions aggregateOptions;
  aggregateOptions.maxNames = o.maxNames;
  AggregateResult result(aggregateOptions);
  ReceiverOptions receiverOptions{o.resultsBind, o.resultsAddress};
  proto::ResultsCurve curve;
  if (!o.key.empty()) {  // the run key: slaves authenticate with it (PROTOCOL.md §9.3)
    const security::KeyPair runKey = security::generateKeyPair();
    curve = {o.key.publicKey, runKey.publicKey, runKey.secretKey};
    receiverOptions.key = o.key;
    receiverOptions.allowedClient = runKey.publicKey;
  }
  std::unique_ptr<ResultsReceiver> receiver;
  try {
    receiver = std::make_unique<ResultsReceiver>(receiverOptions, result);
  } catch (const zmq::error_t& e) {
    std::cerr << "loads-master: cannot bind --results-bind " << o.resultsBind << ": " << e.what()
              << std::endl;
    return 2;
  }
  receiver->start();

  BrokerLink link(o.broker, o.key, o.brokerKey);
  proto::Run request;
  request.agents = o.agents;
  request.waitAgentsMs = static_cast<std::uint32_t>(o.waitAgents.count());
  request.libraryName = std::filesystem::path(o.library).filename().string();
  request.librarySha256 = proto::sha256Hex(*bytes);
  request.library = std::move(*bytes);
  request.options = jobOptions(o);
  request.resultsEndpoint = receiver->endpoint();
  request.masterHost = hostName();
  request.resultsCurve = curve;
  link.send(request);
  request.library.clear();

  int code = 0;
  auto accepted = awaitStart(link, signals_, o.waitAgents, code);
  if (!accepted) return code;
  std::vector<AgentRow> rows;
  for (const auto& a : accepted->agents) {
    receiver->setAgentIndex(a.agentId, a.index);
    AgentRow row;
    row.assigned = a;
    row.share = a.index;
    rows.push_back(std::move(row));
  }
  std::cerr << "loads-master: run " << accepted->runId << " on " << rows.size() << " agents, "
            << request.options.users << " users; results on " << receiver->endpoint() << std::endl;
  const auto startedAt = std::chrono::system_clock::now();
  const auto runStart = Clock::now();
  if (scheduled) {
    const RunOptions runOptions = o.run;
    const std::int64_t zeroUs = request.options.startAtUs;
    result.setTarget(scheduleKind(runOptions), [runOptions, zeroUs](std::int64_t epochUs) {
      return scheduleTarget(runOptions, Micros(std::max<std::int64_t>(0, epochUs - zeroUs)));
    });
  }
  std::unique_ptr<LiveDashboard> dashboard;
  if (o.web) {
    auto clock = [runStart, duration = o.run.duration] {
      DashboardClock clock;
      clock.elapsed =
          std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - runStart);
      if (duration) {
        clock.remaining = std::max(std::chrono::microseconds(0),
                                   std::chrono::microseconds(*duration) - clock.elapsed);
      }
      return clock;
    };
    dashboard = LiveDashboard::start(*o.web, "distributed", result, clock,
                                     [this] { signals_.interrupt(); });  // like Ctrl-C
    if (!dashboard) {
      link.send(proto::Stop{accepted->runId});
      link.send(proto::Disconnect{"master done"});
      receiver->stop();
      return 2;
    }
  }

  // The follow loop: broker messages, heartbeats, live line, Ctrl-C, the end.
  bool live = !o.quiet;
  const bool terminal = stdoutIsTerminal();
  const auto interval = terminal ? 1s : 10s;
  auto nextLive = Clock::now() + interval;
  int interrupts = 0;
  std::optional<Clock::time_point> giveUpAt;
  auto nextCheck = Clock::now() + 1s;  // --abort-on-fail: thresholds checked every second
  std::optional<std::size_t> abortedBy;
  // Why the follow ended early: said now, and kept for the report's problems (exit 3).
  std::vector<std::string> followProblems;
  auto followProblem = [&](std::string text) {
    std::cerr << "\nloads-master: " << text << std::endl;
    followProblems.push_back(std::move(text));
  };
  std::vector<RebalanceEvent> rebalances;
  for (;;) {
    const auto tallies = receiver->tallies();
    if (dashboard) dashboard->setAgents(dashboardAgents(rows, tallies));
    bool all = true;
    for (const auto& row : rows) all = all && agentFinished(row, tallies);
    if (all) break;
    if (giveUpAt && Clock::now() >= *giveUpAt) {
      followProblem("agents did not end in time after the stop: reporting now");
      break;
    }
    if (signals_.wait(50ms) == Wake::kInterrupt) {
      if (++interrupts == 1) {
        std::cerr << "\nloads-master: stopping run " << accepted->runId
                  << " on its agents (Ctrl-C again to stop waiting)" << std::endl;
        link.send(proto::Stop{accepted->runId});
        giveUpAt = Clock::now() + o.run.stopTimeout + 15s;
      } else {
        followProblem("interrupted again: reporting now, without waiting for the agents");
        break;
      }
    }
    if (o.abortOnFail && !abortedBy && Clock::now() >= nextCheck) {
      nextCheck += 1s;
      abortedBy = hopelessThreshold(o.thresholds, result.snapshot());
      if (abortedBy) {
        std::cerr << "\nloads-master: threshold '" << o.thresholds[*abortedBy].expression
                  << "' can no longer pass: stopping the run (--abort-on-fail)" << std::endl;
        signals_.interrupt();  // the Ctrl-C path: STOP to the broker, report what arrived
      }
    }
    std::optional<std::string> brokerEnded;
    while (auto envelope = link.receive(0ms)) {
      if (envelope->type == MessageType::kHeartbeat) link.send(proto::Heartbeat{});
      if (auto ended = onBrokerMessage(*envelope, rows, accepted->runId)) brokerEnded = ended;
    }
    if (o.rebalance && interrupts == 0 && !brokerEnded) {
      rebalanceLeavers(link, rows, accepted->runId, request.options, o.run, runStart, rebalances);
    }
    link.heartbeatIfDue();
    if (!brokerEnded && link.silentFor() >= kBrokerSilence) {
      brokerEnded = "the broker at " + o.broker + " went silent (" + seconds(link.silentFor()) +
                    "): reporting what arrived";
    }
    if (brokerEnded) {
      followProblem(*brokerEnded);
      break;
    }
    if (live && Clock::now() >= nextLive) {
      nextLive += interval;
      LiveInfo info;
      info.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - runStart);
      if (o.run.duration) {
        info.remaining = std::max(std::chrono::microseconds(0),
                                  std::chrono::microseconds(*o.run.duration) - info.elapsed);
      }
      std::string line = ConsoleOutput::liveLine(result.snapshot(), info) + agentsColumn(rows);
      if (terminal) {
        std::cout << "\r\033[K" << line << std::flush;
      } else {
        std::cout << line << std::endl;
      }
    }
  }
  link.send(proto::Disconnect{"master done"});  // stops the run if it still goes on
  receiver->stop();
  if (live && terminal) std::cout << std::endl;

  // The report: the same as local mode, then the agents.
  Snapshot snap = result.snapshot();
  if (dashboard) {
    dashboard->setAgents(dashboardAgents(rows, receiver->tallies()));
    dashboard->finish(snap);
  }
  ConsoleOutput::printReport(snap, std::cout);
  nlohmann::ordered_json agentsJson;
  auto problems = printAgents(rows, receiver->tallies(), snap, agentsJson);
  printRebalances(rebalances, std::cout);
  for (const auto& p : problems) std::cerr << "loads-master: " << p << std::endl;
  problems.insert(problems.begin(), followProblems.begin(), followProblems.end());
  // Garbage on the results port is no event of this run: reported, not an error.
  if (receiver->malformed() > 0) {
    std::cerr << "loads-master: " << receiver->malformed()
              << " malformed messages on the results port were dropped" << std::endl;
  }
  if (!problems.empty()) code = kInfraError;
  if (code == 0) code = testsExitCode(snap);
  std::vector<std::string> names;
  for (const auto& t : tests) names.push_back(t.fullName);
  RunInfo info = describeRun(o, names, startedAt);
  info.options["run_id"] = accepted->runId;
  return finishRun(o, snap, std::move(info), code, abortedBy, [&](nlohmann::ordered_json& report) {
    report["agents"] = agentsJson;
    report["problems"] = problems;
    if (o.rebalance) report["rebalances"] = rebalancesJson(rebalances);
    report["malformed_results"] = receiver->malformed();
  });
}

}  // namespace loads::master
