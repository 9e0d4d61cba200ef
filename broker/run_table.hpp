// RunTable: the runs the broker holds, waiting for agents or in progress, each with its
// master, its agents and how each agent's job ended. Runs never share agents or masters.
//
// Time is passed in (`now`). Not thread-safe: owned by the broker's one thread.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/clock.hpp"
#include "proto/messages.hpp"

namespace loads::broker {

enum class RunState { kWaiting, kRunning };
enum class SlotState { kRunning, kDone, kLost };

// One agent's part in a run.
struct RunSlot {
  std::string agentId;
  std::string host;
  std::uint32_t index = 0;
  SlotState state = SlotState::kRunning;
};

struct RunRecord {
  std::string id;
  std::string masterRoutingId;  // frontend routing id of the master that sent RUN
  RunState state = RunState::kWaiting;
  proto::Run request;          // the RUN as received (library bytes included)
  std::vector<RunSlot> slots;  // empty while waiting
  TimePoint created{};
  TimePoint waitDeadline{};    // when a waiting run is refused
  TimePoint masterLastSeen{};  // master heartbeat

  RunSlot* slot(const std::string& agentId);
  std::uint32_t ended() const;  // slots done or lost
  bool finished() const { return state == RunState::kRunning && ended() == slots.size(); }
};

class RunTable {
 public:
  // `idPrefix` makes run ids unique across broker restarts (e.g. the start time).
  explicit RunTable(std::string idPrefix);

  RunRecord& add(const std::string& masterRoutingId, proto::Run request, TimePoint now);
  RunRecord* find(const std::string& runId);
  RunRecord* findByMaster(const std::string& masterRoutingId);
  void remove(const std::string& runId);

  // Runs whose master has been silent for `timeout`.
  std::vector<std::string> silentMasters(TimePoint now, Duration timeout) const;
  // Waiting runs whose wait has expired.
  std::vector<std::string> expiredWaits(TimePoint now) const;
  // Waiting runs, oldest first (first come, first served).
  std::vector<std::string> waiting() const;

  const std::map<std::string, RunRecord>& runs() const { return runs_; }

 private:
  std::string idPrefix_;
  std::uint64_t nextId_ = 1;
  std::map<std::string, RunRecord> runs_;
};

}  // namespace loads::broker
