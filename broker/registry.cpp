// Agent registry: registration, expiry and fair selection.
#include "broker/registry.hpp"

#include <algorithm>
#include <iterator>
#include <tuple>

#include "proto/messages.hpp"

namespace loads::broker {

std::string_view agentStateName(AgentState state) {
  switch (state) {
    case AgentState::kIdle:
      return "idle";
    case AgentState::kBusy:
      return "busy";
    case AgentState::kLost:
      return "lost";
  }
  return "?";
}

AgentRegistry::AgentRegistry(Duration heartbeatInterval, std::uint32_t liveness)
    : interval_(heartbeatInterval), liveness_(liveness == 0 ? 1 : liveness) {}

AgentRegistry::Registration AgentRegistry::registerAgent(const proto::Hello& hello,
                                                         const std::string& routingId,
                                                         TimePoint now, const std::string& key) {
  std::optional<AgentRecord> replaced;
  std::string undeliveredJob;
  // The same socket re-registering under another id: the old entry is gone.
  if (AgentRecord* sameSocket = findByRouting(routingId);
      sameSocket && sameSocket->id != hello.agentId) {
    AgentRecord old = *sameSocket;
    erase(agents_.find(old.id));
    if (old.state == AgentState::kBusy) replaced = std::move(old);
  }
  if (auto it = agents_.find(hello.agentId); it != agents_.end()) {
    const AgentRecord& old = it->second;
    // Still running the same run after a reconnect: the run keeps it. Busy in another
    // run whose JOB it cannot have read: the run keeps it too, and gets the JOB again.
    if (old.state == AgentState::kBusy && old.runId != hello.runId) {
      if (!old.heardSinceJob && old.routingId != routingId) {
        undeliveredJob = old.runId;
      } else {
        replaced = old;
      }
    }
    erase(it);
  }
  AgentRecord record;
  record.id = hello.agentId;
  record.routingId = routingId;
  record.host = hello.host;
  record.cores = hello.cores;
  record.version = hello.version;
  record.pid = hello.pid;
  record.key = key;
  record.libraries.insert(hello.libraries.begin(), hello.libraries.end());
  // An agent whose slave still runs stays busy until it reports JOB-ENDED.
  record.state =
      hello.runId.empty() && undeliveredJob.empty() ? AgentState::kIdle : AgentState::kBusy;
  record.runId = undeliveredJob.empty() ? hello.runId : undeliveredJob;
  record.lastSeen = now;
  record.lastAssigned = now;
  if (!undeliveredJob.empty()) record.heardSinceJob = false;  // the JOB goes out again
  byRouting_[routingId] = record.id;
  agents_.emplace(record.id, std::move(record));
  return {std::move(replaced), std::move(undeliveredJob)};
}

void AgentRegistry::erase(std::map<std::string, AgentRecord>::iterator it) {
  if (auto routed = byRouting_.find(it->second.routingId);
      routed != byRouting_.end() && routed->second == it->first) {
    byRouting_.erase(routed);
  }
  agents_.erase(it);
}

AgentRecord* AgentRegistry::find(const std::string& agentId) {
  auto it = agents_.find(agentId);
  return it == agents_.end() ? nullptr : &it->second;
}

AgentRecord* AgentRegistry::findByRouting(const std::string& routingId) {
  auto routed = byRouting_.find(routingId);
  return routed == byRouting_.end() ? nullptr : find(routed->second);
}

std::vector<AgentRecord> AgentRegistry::expireSilent(TimePoint now) {
  std::vector<AgentRecord> lost;
  for (auto& [id, agent] : agents_) {
    if (agent.state == AgentState::kLost || now - agent.lastSeen < expiry()) continue;
    lost.push_back(agent);
    agent.state = AgentState::kLost;
    agent.lostAt = now;
    agent.runId.clear();
    agent.libraries.clear();  // a lost agent lists its cache again in its next HELLO
  }
  return lost;
}

void AgentRegistry::forgetLost(TimePoint now, Duration retention) {
  for (auto it = agents_.begin(); it != agents_.end();) {
    const AgentRecord& agent = it->second;
    auto next = std::next(it);
    if (agent.state == AgentState::kLost && now - agent.lostAt >= retention) erase(it);
    it = next;
  }
}

std::optional<AgentRecord> AgentRegistry::remove(const std::string& agentId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return std::nullopt;
  AgentRecord old = it->second;
  erase(it);
  return old;
}

// Fairness: each pick takes the idle agent whose host carries the fewest agents at
// work (busy in any run, or already picked for this one), so a run spreads over hosts
// before it doubles up on one; ties go to the least recently assigned agent, then to
// the smallest id so that the choice is deterministic.
// O(n log n) at any fleet size: each host's idle agents in (lastAssigned, id) order, and a
// heap of hosts by (agents at work, their next agent's lastAssigned and id), whose top is
// the agent the rule above picks.
std::vector<std::string> AgentRegistry::selectIdle(std::uint32_t count) const {
  struct Host {
    std::uint32_t load = 0;
    std::vector<const AgentRecord*> idle;
    std::size_t next = 0;
  };
  std::map<std::string, Host> hosts;
  std::size_t idleCount = 0;
  for (const auto& [id, agent] : agents_) {
    if (agent.state == AgentState::kIdle) {
      hosts[agent.host].idle.push_back(&agent);
      ++idleCount;
    }
    if (agent.state == AgentState::kBusy) ++hosts[agent.host].load;
  }
  if (count == 0 || idleCount < count) return {};
  auto key = [](const Host* h) {
    const AgentRecord* a = h->idle[h->next];
    return std::tie(h->load, a->lastAssigned, a->id);
  };
  auto after = [&](const Host* a, const Host* b) { return key(a) > key(b); };
  std::vector<Host*> heap;
  for (auto& [name, host] : hosts) {
    if (host.idle.empty()) continue;
    std::sort(host.idle.begin(), host.idle.end(), [](const auto* a, const auto* b) {
      return std::tie(a->lastAssigned, a->id) < std::tie(b->lastAssigned, b->id);
    });
    heap.push_back(&host);
  }
  std::make_heap(heap.begin(), heap.end(), after);
  std::vector<std::string> chosen;
  chosen.reserve(count);
  while (chosen.size() < count) {
    std::pop_heap(heap.begin(), heap.end(), after);
    Host* host = heap.back();
    chosen.push_back(host->idle[host->next++]->id);
    ++host->load;
    if (host->next < host->idle.size()) {
      std::push_heap(heap.begin(), heap.end(), after);
    } else {
      heap.pop_back();
    }
  }
  return chosen;
}

void AgentRegistry::assign(const std::string& agentId, const std::string& runId, TimePoint now) {
  if (AgentRecord* agent = find(agentId)) {
    agent->state = AgentState::kBusy;
    agent->runId = runId;
    agent->lastAssigned = now;
    agent->heardSinceJob = false;
  }
}

void AgentRegistry::release(const std::string& agentId) {
  if (AgentRecord* agent = find(agentId); agent && agent->state == AgentState::kBusy) {
    agent->state = AgentState::kIdle;
    agent->runId.clear();
  }
}

std::uint32_t AgentRegistry::idleCount() const {
  return static_cast<std::uint32_t>(
      std::count_if(agents_.begin(), agents_.end(),
                    [](const auto& e) { return e.second.state == AgentState::kIdle; }));
}

std::uint32_t AgentRegistry::registeredCount() const {
  return static_cast<std::uint32_t>(
      std::count_if(agents_.begin(), agents_.end(),
                    [](const auto& e) { return e.second.state != AgentState::kLost; }));
}

}  // namespace loads::broker
