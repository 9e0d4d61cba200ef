// Agent registry: registration, expiry and fair selection.
#include "broker/registry.hpp"

#include <algorithm>
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

std::optional<AgentRecord> AgentRegistry::registerAgent(const proto::Hello& hello,
                                                        const std::string& routingId,
                                                        TimePoint now) {
  std::optional<AgentRecord> replaced;
  // The same socket re-registering under another id: the old entry is gone.
  if (AgentRecord* sameSocket = findByRouting(routingId);
      sameSocket && sameSocket->id != hello.agentId) {
    AgentRecord old = *sameSocket;
    agents_.erase(old.id);
    if (old.state == AgentState::kBusy) replaced = std::move(old);
  }
  if (auto it = agents_.find(hello.agentId); it != agents_.end()) {
    const AgentRecord& old = it->second;
    // Still running the same run after a reconnect: the run keeps it.
    if (old.state == AgentState::kBusy && old.runId != hello.runId) replaced = old;
    agents_.erase(it);
  }
  AgentRecord record;
  record.id = hello.agentId;
  record.routingId = routingId;
  record.host = hello.host;
  record.cores = hello.cores;
  record.version = hello.version;
  record.pid = hello.pid;
  record.libraries.insert(hello.libraries.begin(), hello.libraries.end());
  // An agent whose slave still runs stays busy until it reports JOB-ENDED.
  record.state = hello.runId.empty() ? AgentState::kIdle : AgentState::kBusy;
  record.runId = hello.runId;
  record.lastSeen = now;
  record.lastAssigned = now;
  agents_.emplace(record.id, std::move(record));
  return replaced;
}

AgentRecord* AgentRegistry::find(const std::string& agentId) {
  auto it = agents_.find(agentId);
  return it == agents_.end() ? nullptr : &it->second;
}

AgentRecord* AgentRegistry::findByRouting(const std::string& routingId) {
  for (auto& [id, agent] : agents_) {
    if (agent.routingId == routingId) return &agent;
  }
  return nullptr;
}

std::vector<AgentRecord> AgentRegistry::expireSilent(TimePoint now) {
  std::vector<AgentRecord> lost;
  for (auto& [id, agent] : agents_) {
    if (agent.state == AgentState::kLost || now - agent.lastSeen < expiry()) continue;
    lost.push_back(agent);
    agent.state = AgentState::kLost;
    agent.lostAt = now;
    agent.runId.clear();
  }
  return lost;
}

void AgentRegistry::forgetLost(TimePoint now, Duration retention) {
  std::erase_if(agents_, [&](const auto& entry) {
    return entry.second.state == AgentState::kLost && now - entry.second.lostAt >= retention;
  });
}

std::optional<AgentRecord> AgentRegistry::remove(const std::string& agentId) {
  auto it = agents_.find(agentId);
  if (it == agents_.end()) return std::nullopt;
  AgentRecord old = std::move(it->second);
  agents_.erase(it);
  return old;
}

// Fairness: each pick takes the idle agent whose host carries the fewest agents at
// work (busy in any run, or already picked for this one), so a run spreads over hosts
// before it doubles up on one; ties go to the least recently assigned agent, then to
// the smallest id so that the choice is deterministic.
std::vector<std::string> AgentRegistry::selectIdle(std::uint32_t count) const {
  std::vector<const AgentRecord*> idle;
  std::map<std::string, std::uint32_t> hostLoad;
  for (const auto& [id, agent] : agents_) {
    if (agent.state == AgentState::kIdle) idle.push_back(&agent);
    if (agent.state == AgentState::kBusy) ++hostLoad[agent.host];
  }
  if (count == 0 || idle.size() < count) return {};
  std::vector<std::string> chosen;
  chosen.reserve(count);
  while (chosen.size() < count) {
    auto best = std::min_element(idle.begin(), idle.end(), [&](const auto* a, const auto* b) {
      return std::tie(hostLoad[a->host], a->lastAssigned, a->id) <
             std::tie(hostLoad[b->host], b->lastAssigned, b->id);
    });
    ++hostLoad[(*best)->host];
    chosen.push_back((*best)->id);
    idle.erase(best);
  }
  return chosen;
}

void AgentRegistry::assign(const std::string& agentId, const std::string& runId, TimePoint now) {
  if (AgentRecord* agent = find(agentId)) {
    agent->state = AgentState::kBusy;
    agent->runId = runId;
    agent->lastAssigned = now;
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
