// AgentRegistry: the agents the broker knows, their state (idle, busy, lost), their
// heartbeats and expiry, and the fair choice of idle agents for a run.
//
// Time is passed in (`now`) so tests drive it with a fake clock. Not thread-safe: owned
// by the broker's one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/clock.hpp"

namespace loads::proto {
struct Hello;
}

namespace loads::broker {

enum class AgentState { kIdle, kBusy, kLost };
std::string_view agentStateName(AgentState state);  // "idle", "busy", "lost"

struct AgentRecord {
  std::string id;           // agent id from HELLO
  std::string routingId;    // its backend ROUTER routing id
  std::string host;         // host name
  std::uint32_t cores = 0;  // cores of its machine
  std::string version;      // its loads release
  std::uint32_t pid = 0;    // its process id
  AgentState state = AgentState::kIdle;
  std::string runId;                // run in progress when busy; ""
  std::set<std::string> libraries;  // sha256 of libraries it has cached
  TimePoint lastSeen{};             // last message from it
  TimePoint lastAssigned{};         // last JOB (registration time until then)
  TimePoint lostAt{};               // when it was declared lost
};

class AgentRegistry {
 public:
  // An agent silent for `liveness` heartbeat intervals is lost.
  AgentRegistry(Duration heartbeatInterval, std::uint32_t liveness);

  // HELLO from `routingId`. Returns the record it replaces (same agent id, or same
  // routing id), if that one was busy: its run must learn the agent is gone.
  std::optional<AgentRecord> registerAgent(const proto::Hello& hello, const std::string& routingId,
                                           TimePoint now);
  // Any message from a registered, not lost, agent.
  void touch(AgentRecord& agent, TimePoint now) { agent.lastSeen = now; }

  AgentRecord* find(const std::string& agentId);
  AgentRecord* findByRouting(const std::string& routingId);

  // Marks agents silent for liveness x interval as lost and returns them (as they were,
  // with their run id) so their masters can be told.
  std::vector<AgentRecord> expireSilent(TimePoint now);
  // Forgets agents lost longer ago than `retention`.
  void forgetLost(TimePoint now, Duration retention);
  // DISCONNECT: forgets the agent; returns it as it was.
  std::optional<AgentRecord> remove(const std::string& agentId);

  // Picks `count` idle agents fairly (see PROTOCOL.md and the .cpp), or none if fewer
  // are idle. Does not change their state: call assign().
  std::vector<std::string> selectIdle(std::uint32_t count) const;
  void assign(const std::string& agentId, const std::string& runId, TimePoint now);
  // The agent's job ended: busy -> idle.
  void release(const std::string& agentId);

  std::uint32_t idleCount() const;
  std::uint32_t registeredCount() const;  // idle + busy
  const std::map<std::string, AgentRecord>& agents() const { return agents_; }
  Duration expiry() const { return interval_ * liveness_; }

 private:
  Duration interval_;
  std::uint32_t liveness_;
  std::map<std::string, AgentRecord> agents_;  // by agent id, sorted for stable output
};

}  // namespace loads::broker
