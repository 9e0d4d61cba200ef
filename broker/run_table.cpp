// Run table: runs waiting for agents and runs in progress.
#include "broker/run_table.hpp"

#include <algorithm>
#include <tuple>

namespace loads::broker {

RunSlot* RunRecord::slot(const std::string& agentId) {
  for (auto& s : slots) {
    if (s.agentId == agentId) return &s;
  }
  return nullptr;
}

std::uint32_t RunRecord::ended() const {
  return static_cast<std::uint32_t>(std::count_if(
      slots.begin(), slots.end(), [](const RunSlot& s) { return s.state != SlotState::kRunning; }));
}

RunTable::RunTable(std::string idPrefix) : idPrefix_(std::move(idPrefix)) {}

RunRecord& RunTable::add(const std::string& masterRoutingId, proto::Run request, TimePoint now) {
  RunRecord run;
  run.id = idPrefix_ + "-" + std::to_string(nextId_++);
  run.masterRoutingId = masterRoutingId;
  run.created = now;
  run.masterLastSeen = now;
  run.waitDeadline = now + Duration(request.waitAgentsMs);
  run.request = std::move(request);
  auto [it, inserted] = runs_.emplace(run.id, std::move(run));
  return it->second;
}

RunRecord* RunTable::find(const std::string& runId) {
  auto it = runs_.find(runId);
  return it == runs_.end() ? nullptr : &it->second;
}

RunRecord* RunTable::findByMaster(const std::string& masterRoutingId) {
  for (auto& [id, run] : runs_) {
    if (run.masterRoutingId == masterRoutingId) return &run;
  }
  return nullptr;
}

void RunTable::remove(const std::string& runId) { runs_.erase(runId); }

std::vector<std::string> RunTable::silentMasters(TimePoint now, Duration timeout) const {
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) {
    if (now - run.masterLastSeen >= timeout) ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> RunTable::expiredWaits(TimePoint now) const {
  std::vector<std::string> ids;
  for (const auto& [id, run] : runs_) {
    if (run.state == RunState::kWaiting && now >= run.waitDeadline) ids.push_back(id);
  }
  return ids;
}

std::vector<std::string> RunTable::waiting() const {
  std::vector<const RunRecord*> runs;
  for (const auto& [id, run] : runs_) {
    if (run.state == RunState::kWaiting) runs.push_back(&run);
  }
  std::sort(runs.begin(), runs.end(), [](const auto* a, const auto* b) {
    return std::tie(a->created, a->id) < std::tie(b->created, b->id);
  });
  std::vector<std::string> ids;
  for (const auto* run : runs) ids.push_back(run->id);
  return ids;
}

}  // namespace loads::broker
