#include "master/distributed_driver.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>
#include <zmq.hpp>

#include "agent/crash_report.hpp"
#include "loads/version.hpp"
#include "master/broker_link.hpp"
#include "master/child_driver.hpp"
#include "master/job_options.hpp"
#include "master/live_dashboard.hpp"
#include "master/rebalance.hpp"
#include "master/report_files.hpp"
#include "master/results_receiver.hpp"
#include "proto/messages.hpp"
#include "report/console_output.hpp"
#include "report/json_output.hpp"
#include "report/table.hpp"
#include "run/test_library.hpp"
#include "run/test_mix.hpp"
#include "stats/aggregate_result.hpp"
#include "util/host_name.hpp"

namespace loads::master {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using proto::MessageType;

constexpr auto kBrokerSilence = 6s;  // nothing at all from the broker during a run: gone
// A STOP-TEST-RUN is awaited this long after its agent's AGENT-DONE, or after the results
// receiver last read a message if it still works through a backlog, but no longer than
// kBacklogLimit after AGENT-DONE (a peer flooding the results port cannot hold the run).
constexpr auto kFinalGrace = 3s;
constexpr auto kBacklogLimit = 120s;
constexpr auto kScheduleLead = 2s;      // --rate/--stages: common time 0 this far after RUN
constexpr auto kRebalanceLead = 500ms;  // --rebalance: a new split applies this far ahead

std::string seconds(Clock::duration d) {
  std::ostringstream s;
  s << std::chrono::duration_cast<std::chrono::seconds>(d).count() << " s";
  return s.str();
}

}  // namespace

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
  // --rebalance: the unique rows its slave deals (its own, then those it took over), and
  // the index of its rebalance event while its own rows still wait to move to the others
  // (they move once its slave has ended: then it can deal no more).
  std::vector<RowRun> rowRuns;
  std::optional<std::size_t> rowsPending;
  std::size_t cycle = 0;  // the load cycle (one RUN each) it ran
  // Frozen when its cycle is over (the receiver starts afresh with the agent's next run):
  std::optional<AgentTally> tally;    // what its slave delivered
  std::optional<std::uint64_t> hits;  // requests of its source during the cycle
};

namespace {

// Ended before the run did: lost, or its slave crashed or failed.
bool leftEarly(const AgentRow& row) {
  return row.state == AgentState::kLost ||
         (row.state == AgentState::kDone &&
          (row.signal != 0 || row.exitCode >= 2 || row.exitCode < 0));
}

bool finalArrived(const AgentRow& row, const std::map<std::string, AgentTally>& tallies,
                  const std::string& runId) {
  auto it = tallies.find(row.assigned.agentId);
  return it != tallies.end() && it->second.final && it->second.runId == runId;
}

// Whether `since` (an agent's end) is still within `grace`, counted from the receiver's last
// read when that is later: a receiver with a backlog may not have reached the end yet.
bool withinGrace(Clock::time_point since, Clock::time_point lastRead, Clock::duration grace) {
  const auto now = Clock::now();
  return now - std::max(since, lastRead) < grace && now - since < grace + kBacklogLimit;
}

// Whether the master has all it will get from every agent. A lost agent's slave may
// still run (the agent was stopped or cut off, not its slave) and send the rest of its
// results: its STOP-TEST-RUN is awaited until the agents that were not lost have finished
// and `lostGrace` has passed since the last of them (or since the loss) ended.
bool allFinished(const std::vector<AgentRow>& rows,
                 const std::map<std::string, AgentTally>& tallies, const std::string& runId,
                 Clock::time_point lastRead, Clock::duration lostGrace) {
  Clock::time_point lastEnd{};
  for (const AgentRow& row : rows) {
    if (row.state == AgentState::kRunning) return false;
    lastEnd = std::max(lastEnd, row.endedAt);
    if (row.state == AgentState::kDone && !finalArrived(row, tallies, runId) &&
        withinGrace(row.endedAt, lastRead, kFinalGrace)) {
      return false;
    }
  }
  for (const AgentRow& row : rows) {
    if (row.state == AgentState::kLost && !finalArrived(row, tallies, runId) &&
        withinGrace(lastEnd, lastRead, lostGrace)) {
      return false;
    }
  }
  return true;
}

// Results messages that were not the run's: one sentence per kind (each makes exit 3,
// since someone else wrote on the results port under this run's or an agent's name).
std::vector<std::string> rejectedProblems(const RejectedResults& r) {
  std::vector<std::string> problems;
  if (r.otherRun > 0) {
    problems.push_back(formatCount(r.otherRun) + " results messages of another run (\"" +
                       r.otherRunExample + "\" first) were dropped");
  }
  if (r.unknownAgent > 0) {
    problems.push_back(formatCount(r.unknownAgent) +
                       " results messages from agents not in this run (\"" + r.unknownAgentExample +
                       "\" first) were dropped");
  }
  if (r.outOfSequence + r.afterFinal > 0) {
    std::string names;
    for (const auto& id : r.impersonated) names += (names.empty() ? "" : ", ") + id;
    problems.push_back(formatCount(r.outOfSequence + r.afterFinal) +
                       " results messages under the name of agent " + names +
                       " repeated a sequence number, went back on its event count or came after "
                       "its STOP-TEST-RUN, and were dropped: another sender uses its id, so its "
                       "figures cannot be trusted");
  }
  return problems;
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
                                     const Snapshot& snap, std::vector<AgentFacts>& facts,
                                     std::size_t cycles) {
  std::vector<std::string> problems;
  Table table({"agent", "host", "ended", "events sent", "received", "requests"}, "lll");
  facts.clear();
  for (const AgentRow& row : rows) {
    auto it = tallies.find(row.assigned.agentId);
    const AgentTally* tally = row.tally ? &*row.tally : it == tallies.end() ? nullptr : &it->second;
    const std::uint64_t received = tally ? tally->received : 0;
    const bool final = tally && tally->final;
    const std::uint64_t sent = tally ? tally->eventsSent : 0;
    auto hitsIt = snap.requestsBySource.find(row.assigned.index);
    const std::uint64_t hits = row.hits                                ? *row.hits
                               : hitsIt == snap.requestsBySource.end() ? 0
                                                                       : hitsIt->second;
    const std::string who = "agent " + row.assigned.agentId + " on " + row.assigned.host +
                            (cycles > 1 ? " (cycle " + std::to_string(row.cycle + 1) + ")" : "");
    std::string sentText = final ? formatCount(sent) : "?";
    if (row.shareMoved && !(tally && tally->crash)) {
      // Reported under "Rebalanced": with --rebalance a lost agent is expected, not a fault;
      // test code that crashed is one, which a re-split does not mend.
    } else if (row.state == AgentState::kLost) {
      problems.push_back(who + " was lost (" + row.reason + "); its results up to then are kept");
    } else if (row.signal != 0 || row.exitCode >= 2 || row.exitCode < 0) {
      problems.push_back(who + ": its slave " + endedText(row, tally));
    }
    if (final && sent != received) {
      problems.push_back(who + " sent " + formatCount(sent) + " events, " + formatCount(received) +
                         " arrived: " + formatCount(sent > received ? sent - received : 0) +
                         " missing");
    } else if (!final && (row.state != AgentState::kLost || row.shareMoved)) {
      problems.push_back(who + ": no STOP-TEST-RUN arrived, so events may be missing (" +
                         formatCount(received) + " received)");
    }
    std::string ended = endedText(row, tally);  // in full in the problems
    if (ended.size() > 40) ended = ended.substr(0, 37) + "...";
    table.add({row.assigned.agentId, row.assigned.host, ended, sentText, formatCount(received),
               formatCount(hits)});
    facts.push_back({.id = row.assigned.agentId,
                     .host = row.assigned.host,
                     .index = row.assigned.index,
                     .state = row.state == AgentState::kLost   ? "lost"
                              : row.state == AgentState::kDone ? "done"
                                                               : "running",
                     .exitCode = row.exitCode,
                     .signal = row.signal,
                     .reason = row.reason,
                     .eventsSent = final ? std::optional<std::uint64_t>(sent) : std::nullopt,
                     .eventsReceived = received,
                     .requests = hits});
    if (cycles > 1) facts.back().cycle = static_cast<std::uint32_t>(row.cycle + 1);
  }
  std::cout << "\nAgents\n";
  table.print(std::cout);
  return problems;
}

}  // namespace

// ---------------------------------------------------------------- a run

namespace {

// Waits for RUN-ACCEPTED. Returns it, or nullopt with `code` set after saying why.
std::optional<proto::RunAccepted> awaitStart(BrokerLink& link, Waiter& signals,
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
      row->state = AgentState::kDone;  // the rest of the row (its share, cycle, rows) stays
      row->exitCode = done->exitCode;
      row->signal = done->signal;
      row->reason = done->reason;
      row->endedAt = Clock::now();
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

// The unique rows `left` had not dealt go to the agents of `split`, which carries them:
// false when they cannot (a number past 64 bits).
bool moveRows(AgentRow& left, std::vector<AgentRow>& rows, const RowClaims& claims,
              proto::Rebalance& split) {
  const auto rest = remainingRows(left.rowRuns, claims);
  if (!rest) return false;
  std::vector<std::pair<std::vector<RowRun>*, std::vector<RowRun>>> parts;
  for (const auto& share : split.shares) {
    auto holder = std::find_if(rows.begin(), rows.end(), [&](const AgentRow& row) {
      return row.assigned.agentId == share.agentId;
    });
    auto part = shareOfRows(*rest, share.index, split.count);
    if (!part) return false;
    if (holder != rows.end()) parts.emplace_back(&holder->rowRuns, std::move(*part));
  }
  for (auto& [runs, part] : parts) runs->insert(runs->end(), part.begin(), part.end());
  split.rows.clear();
  for (const RowRun& run : *rest) {
    proto::RowsRun& wire = split.rows.emplace_back();
    wire.share = run.share, wire.offset = run.offset, wire.stride = run.stride;
    for (const auto& [feed, shift] : run.shift) wire.shifts.push_back({feed, shift});
  }
  return true;
}

// What the report says of the rows of an agent that left.
// `dealt` is exact when every claim is (a slave that crashed said only what it claimed).
void noteRows(RebalanceEvent& event, const RowClaims& claims, bool moved) {
  std::map<std::string, std::uint64_t> dealt;
  bool exact = true;
  for (const auto& [key, claim] : claims) {
    dealt[key.first] += claim.upTo;
    exact = exact && claim.exact;
  }
  event.rows.clear();
  for (const auto& [feed, n] : dealt) event.rows.push_back({feed, n});
  event.rowsFinal = exact;
  event.rowsMoved = moved;
}

// --rebalance: the share of each agent that left early goes to those still running, and
// its unique rows once its slave has ended (at once when it already has).
void rebalanceLeavers(BrokerLink& link, std::vector<AgentRow>& rows, const std::string& runId,
                      const proto::JobOptions& job, const RunOptions& run,
                      Clock::time_point runStart, std::vector<RebalanceEvent>& events,
                      const std::map<std::string, AgentTally>& tallies,
                      const AggregateResult& result, std::optional<proto::Rebalance>& lastSplit) {
  const auto ended = [&](const AgentRow& row) { return finalArrived(row, tallies, runId); };
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
    proto::Rebalance message = planRebalance(runId, holders, *fromMs, left.assigned.agentId);
    lastSplit = message;
    const RowClaims claims = result.rowClaims(left.assigned.index);
    const bool moved = ended(left) && moveRows(left, rows, claims, message);
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
    noteRows(event, claims, moved);
    if (!ended(left)) left.rowsPending = events.size();
    std::cerr << "\nloads-master: rebalancing: agent " << event.lostId << " left, " << event.count
              << " agents share the run from " << event.fromMs << " ms into the schedule"
              << (moved ? ", with its unique rows" : "") << " (--rebalance)" << std::endl;
    events.push_back(std::move(event));
  }
  // Rows of agents whose slave has ended since they left: the last split again, with them.
  const bool running = std::any_of(rows.begin(), rows.end(), [](const AgentRow& row) {
    return row.state == AgentState::kRunning;
  });
  for (AgentRow& left : rows) {
    if (!left.rowsPending || !ended(left) || !running || !lastSplit) continue;
    RebalanceEvent& event = events.at(*left.rowsPending);
    left.rowsPending.reset();
    proto::Rebalance message = *lastSplit;
    message.lost = left.assigned.agentId;
    const RowClaims claims = result.rowClaims(left.assigned.index);
    const bool moved = moveRows(left, rows, claims, message);
    if (moved) link.send(message);
    noteRows(event, claims, moved);
    event.rowsMovedAtMs = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - runStart).count());
    std::cerr << "\nloads-master: the slave of agent " << left.assigned.agentId
              << " has ended: its unique rows go to the agents still running (--rebalance)"
              << std::endl;
  }
}

}  // namespace

DistributedDriver::DistributedDriver(const MasterOptions& options, AggregateResult& result,
                                     Waiter& waiter)
    : options_(options), result_(result), waiter_(waiter) {}

DistributedDriver::~DistributedDriver() = default;

int DistributedDriver::prepare() {
  const MasterOptions& o = options_;
  if (o.run.rate && o.run.maxUsers < o.agents) {
    std::cerr << "loads-master: --agents " << o.agents << " needs --max-users of at least "
              << o.agents << " (the pool is split over the agents)" << std::endl;
    return 2;
  }
  const bool scheduled = o.run.rate || o.run.userStages;
  const auto [fewest, most] = std::minmax_element(o.run.userCycles.begin(), o.run.userCycles.end());
  if (!scheduled && (*fewest < o.agents || *most > 0xffffffffu)) {
    std::cerr << "loads-master: --agents " << o.agents << " needs at least " << o.agents
              << " users in every cycle (-u is the total over all agents, each runs at least one)"
              << std::endl;
    return 2;
  }
  try {
    TestLibrary library = TestLibrary::load(o.library);  // fail here, not on every agent
    std::vector<std::uint32_t> weights;
    for (const auto& t : library.select(o.tests)) {
      tests_.push_back(t.fullName);
      weights.push_back(t.weight);
    }
    data_.userMix = TestMix(weights).weighted() ? proto::kUserMix : 1;  // 1: older slaves too
  } catch (const LoadError& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 2;
  }
  auto bytes = readFile(o.library);
  if (!bytes || bytes->empty()) {
    std::cerr << "loads-master: cannot read " << o.library << std::endl;
    return 2;
  }
  library_ = std::move(*bytes);
  data_.params = o.run.params;
  for (const auto& [name, path] : o.run.files) {
    auto file = readFile(path);
    if (!file) {
      std::cerr << "loads-master: cannot read --include " << path << std::endl;
      return 2;
    }
    data_.files.push_back({name, proto::sha256Hex(*file), file->size()});
    files_.push_back(std::move(*file));
  }
  std::uint64_t carried = library_.size();
  for (const auto& file : files_) carried += file.size();
  if (carried > proto::kDefaultMaxMessageSize - proto::kFrameSlack) {
    std::cerr << "loads-master: the test library and the --include files total " << carried
              << " bytes, more than one RUN carries to the broker ("
              << proto::kDefaultMaxMessageSize - proto::kFrameSlack
              << "): include less data, or serve it to the tests from a server" << std::endl;
    return 2;
  }

  ReceiverOptions receiverOptions{o.resultsBind, o.resultsAddress};
  if (!o.key.empty()) {  // the run key: slaves authenticate with it (PROTOCOL.md §9.3)
    const security::KeyPair runKey = security::generateKeyPair();
    curve_ = {o.key.publicKey, runKey.publicKey, runKey.secretKey};
    receiverOptions.key = o.key;
    receiverOptions.allowedClient = runKey.publicKey;
  }
  try {
    receiver_ = std::make_unique<ResultsReceiver>(receiverOptions, result_);
  } catch (const zmq::error_t& e) {
    std::cerr << "loads-master: cannot bind --results-bind " << o.resultsBind << ": " << e.what()
              << std::endl;
    return 2;
  }
  receiver_->listen();  // guarded from now on; read once RUN-ACCEPTED names the run
  return 0;
}

std::size_t DistributedDriver::cycles() const { return cycleCount(options_.run); }

bool DistributedDriver::canGoOn() const { return followProblems_.empty() && !stopping_; }

// A cycle is one RUN: its users split over the agents the broker picks for it.
int DistributedDriver::startCycle(std::size_t index) {
  const MasterOptions& o = options_;
  finished_ = false;
  giveUpAt_.reset();
  cycle_ = index;
  cycleBase_ = result_.snapshot().requestsBySource;
  link_ = std::make_unique<BrokerLink>(o.broker, o.key, o.brokerKey);
  proto::Run request;
  request.agents = o.agents;
  request.waitAgentsMs = static_cast<std::uint32_t>(o.waitAgents.count());
  request.libraryName = std::filesystem::path(o.library).filename().string();
  request.librarySha256 = proto::sha256Hex(library_);
  request.library = library_;
  request.options = jobOptions(o, index, kScheduleLead);
  request.options.userMix = data_.userMix;
  request.options.params = data_.params;
  request.options.files = data_.files;
  request.files = files_;
  request.resultsEndpoint = receiver_->endpoint();
  request.masterHost = hostName();
  request.resultsCurve = curve_;
  link_->send(request);
  job_ = request.options;

  int code = 0;
  auto accepted = awaitStart(*link_, waiter_, o.waitAgents, code);
  if (!accepted && index == 0) return code;
  if (!accepted) {  // the cycles so far are reported; this one did not start
    followProblem("cycle " + std::to_string(index + 1) + " of " + std::to_string(cycles()) +
                  " did not start on the agents (above): reporting the cycles before it");
    return 0;
  }
  runId_ = accepted->runId;
  std::map<std::string, std::uint32_t> sources;
  rows_.clear();
  lastSplit_.reset();
  result_.forgetRowClaims();  // sources are numbered again in every cycle
  for (const auto& a : accepted->agents) {
    sources[a.agentId] = a.index;
    AgentRow row;
    row.assigned = a;
    row.share = a.index;
    row.rowRuns = {ownRun(a.index)};
    row.cycle = index;
    rows_.push_back(std::move(row));
  }
  receiver_->start(runId_, sources);  // results of this run's agents only (PROTOCOL.md §8.3)
  std::cerr << "loads-master: run " << runId_ << " on " << rows_.size() << " agents, " << job_.users
            << " users; results on " << receiver_->endpoint() << std::endl;
  if (index == 0) startedAt_ = std::chrono::system_clock::now();
  runStart_ = Clock::now();
  runStartTicks_ = runStart_.time_since_epoch().count();
  if (o.run.rate || o.run.userStages) {
    const RunOptions runOptions = o.run;
    const std::int64_t zeroUs = job_.startAtUs;
    result_.setTarget(scheduleKind(runOptions), [runOptions, zeroUs](std::int64_t epochUs) {
      return scheduleTarget(runOptions, Micros(std::max<std::int64_t>(0, epochUs - zeroUs)));
    });
  }
  return 0;
}

// Broker messages, heartbeats, --rebalance, and whether the agents are all done.
void DistributedDriver::advance() {
  if (finished_) return;
  const MasterOptions& o = options_;
  const auto tallies = receiver_->tallies();
  // A lost agent's slave ends as the others do, then may wait --stop-timeout for its hits
  // in flight before its STOP-TEST-RUN.
  if (allFinished(rows_, tallies, runId_, receiver_->lastReadAt(),
                  o.run.stopTimeout + kFinalGrace)) {
    finishCycle();
    return;
  }
  if (giveUpAt_ && Clock::now() >= *giveUpAt_) {
    followProblem("agents did not end in time after the stop: reporting now");
    return;
  }
  std::optional<std::string> brokerEnded;
  while (auto envelope = link_->receive(0ms)) {
    if (envelope->type == MessageType::kHeartbeat) link_->send(proto::Heartbeat{});
    if (auto ended = onBrokerMessage(*envelope, rows_, runId_)) brokerEnded = ended;
  }
  if (o.rebalance && !stopping_ && !brokerEnded) {
    rebalanceLeavers(*link_, rows_, runId_, job_, o.run, runStart_, rebalances_, tallies, result_,
                     lastSplit_);
  }
  link_->heartbeatIfDue();
  // Once every agent has ended the broker forgets the run and has nothing more to say,
  // while the receiver may still read their results.
  const bool agentsRunning = std::any_of(rows_.begin(), rows_.end(), [](const AgentRow& row) {
    return row.state == AgentState::kRunning;
  });
  if (!brokerEnded && agentsRunning && link_->silentFor() >= kBrokerSilence) {
    brokerEnded = "the broker at " + o.broker + " went silent (" + seconds(link_->silentFor()) +
                  "): reporting what arrived";
  }
  if (brokerEnded) followProblem(*brokerEnded);
}

std::optional<std::chrono::milliseconds> DistributedDriver::pollInterval() const {
  return 50ms;  // the broker's messages and heartbeats
}

void DistributedDriver::followProblem(std::string text) {
  std::cerr << "\nloads-master: " << text << std::endl;
  followProblems_.push_back(std::move(text));
  finishCycle();
}

// The cycle is over: its agents' tallies and hits are kept, the receiver's next ones are
// of the next cycle's run.
void DistributedDriver::finishCycle() {
  if (finished_) return;
  finished_ = true;
  const auto tallies = receiver_->tallies();
  const auto bySource = result_.snapshot().requestsBySource;
  for (AgentRow& row : rows_) {
    auto tally = tallies.find(row.assigned.agentId);
    if (tally != tallies.end() && tally->second.runId == runId_) row.tally = tally->second;
    auto now = bySource.find(row.assigned.index);
    auto before = cycleBase_.find(row.assigned.index);
    row.hits = (now == bySource.end() ? 0 : now->second) -
               (before == cycleBase_.end() ? 0 : before->second);
    allRows_.push_back(row);
  }
}

void DistributedDriver::requestStop(StopKind kind) {
  if (finished_) return;
  if (kind == StopKind::kHard) {
    followProblem("interrupted again: reporting now, without waiting for the agents");
    return;
  }
  std::cerr << "\nloads-master: stopping run " << runId_
            << " on its agents (Ctrl-C again to stop waiting)" << std::endl;
  link_->send(proto::Stop{runId_});
  giveUpAt_ = Clock::now() + options_.run.stopTimeout + 15s;
  stopping_ = true;
}

CycleTime DistributedDriver::clock() const {
  CycleTime time;
  const SteadyClock::rep ticks = runStartTicks_;
  if (ticks == 0) return time;  // not started yet
  const SteadyClock::time_point start{SteadyClock::duration(ticks)};
  time.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  if (options_.run.duration) {
    time.remaining = std::max(std::chrono::microseconds(0),
                              std::chrono::microseconds(*options_.run.duration) - time.elapsed);
  }
  time.stopping = stopping_;
  return time;
}

std::string DistributedDriver::liveColumns() const { return agentsColumn(rows_); }

std::vector<DashboardAgent> DistributedDriver::agents() const {
  return dashboardAgents(rows_, receiver_->tallies());
}

void DistributedDriver::wrapUp() {
  if (link_) link_->send(proto::Disconnect{"master done"});  // stops the run if it still goes on
  receiver_->stop();
  if (!finished_) finishCycle();
}

RunEnding DistributedDriver::end(const Snapshot& snap) {
  const MasterOptions& o = options_;
  auto& receiver = receiver_;
  auto& rebalances = rebalances_;
  DistributedFacts facts{.runId = runId_};
  RunEnding ending;
  auto problems = printAgents(allRows_, receiver->tallies(), snap, facts.agents, cycle_ + 1);
  printRebalances(rebalances, std::cout);
  const RejectedResults rejected = receiver->rejected();
  for (auto& p : rejectedProblems(rejected)) problems.push_back(std::move(p));
  for (const auto& p : problems) std::cerr << "loads-master: " << p << std::endl;
  for (const AgentRow& row : allRows_) {  // the test code's crashes, each with its stack
    if (!row.tally || !row.tally->crash) continue;
    const proto::CrashInfo& crash = *row.tally->crash;
    std::cerr << "\nCrash: the slave of agent " << row.assigned.agentId << " on "
              << row.assigned.host << " was " << crash.description << "\n"
              << agent::formatFrames(crash, "  ");
    ending.crashes.push_back(crashFacts(crash, row.assigned.agentId));
  }
  problems.insert(problems.begin(), followProblems_.begin(), followProblems_.end());
  // Garbage on the results port is no event of this run: reported, not an error.
  if (receiver->malformed() > 0) {
    std::cerr << "loads-master: " << receiver->malformed()
              << " malformed messages on the results port were dropped" << std::endl;
  }
  if (!problems.empty()) ending.code = kInfraError;
  ending.tests = tests_;
  ending.startedAt = startedAt_;
  facts.problems = problems;
  if (o.rebalance) facts.rebalances = rebalances;
  facts.malformedResults = receiver->malformed();
  if (rejected.total() > 0) {
    facts.rejectedResults = RejectedResultsFacts{rejected.otherRun, rejected.unknownAgent,
                                                 rejected.outOfSequence, rejected.afterFinal};
  }
  ending.distributed = std::move(facts);
  return ending;
}

}  // namespace loads::master
