#include "run/run_data.hpp"

#include <mutex>
#include <set>

namespace loads::detail {
namespace {

struct Registry {
  std::mutex mutex;
  RunData data;
  std::set<ResplitListener*> listeners;
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

std::pair<std::uint32_t, std::uint32_t> runShare() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return {r.data.shareIndex, r.data.shareCount};
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

void resplitRunData(std::uint32_t index, std::uint32_t count) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.data.shareIndex = index;
  r.data.shareCount = count;
  for (ResplitListener* listener : r.listeners) listener->resplit(index, count);
}

void addResplitListener(ResplitListener* listener) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.listeners.insert(listener);
}

void removeResplitListener(ResplitListener* listener) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.listeners.erase(listener);
}

}  // namespace loads::detail
