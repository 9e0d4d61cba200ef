#include "run/run_data.hpp"

#include <algorithm>
#include <mutex>

namespace loads::detail {
namespace {

struct Registry {
  std::mutex mutex;
  RunData data;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void installRunData(RunData data) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.data = std::move(data);
}

std::optional<std::string> runFile(const std::string& name) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.data.files.find(name);
  if (it == r.data.files.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> runParam(const std::string& key) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.data.params.find(key);
  if (it == r.data.params.end()) return std::nullopt;
  return it->second;
}

RunShare runShare() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return {r.data.shareIndex, std::max(1u, r.data.shareCount), r.data.runUsers, r.data.generation};
}

void startRunCycle(std::uint64_t runUsers) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.data.runUsers = std::max<std::uint64_t>(1, runUsers);
  ++r.data.generation;
}

bool stopCurrentRun() {
  std::function<void()> stop;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    stop = r.data.stopRun;
  }
  if (!stop) return false;
  stop();
  return true;
}

}  // namespace loads::detail
