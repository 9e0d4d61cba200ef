#include "run/run_data.hpp"

#include <algorithm>
#include <map>
#include <mutex>

namespace loads::detail {
namespace {

// How far a unique feed got in each of the runner's runs.
struct FeedDeal {
  std::vector<std::uint64_t> dealt;    // elements dealt, by run
  std::vector<std::uint64_t> claimed;  // elements claimed, by run
  std::vector<bool> exhausted;         // past the file's rows, by run
};

struct Registry {
  std::mutex mutex;
  RunData data;
  std::vector<RowRun> runs;  // runs[0] is the runner's own (ownRun(data.shareIndex))
  std::map<std::string, FeedDeal, std::less<>> feeds;
};

void resetRows(Registry& r) {  // with mutex held
  r.runs = {ownRun(r.data.shareIndex)};
  r.feeds.clear();
}

// Claims run elements ahead of what is dealt, in blocks of an eighth of what was dealt
// (16 to 4,096): few claims, and a runner that dies leaves few claimed rows unused.
std::uint64_t claimBlock(std::uint64_t dealt) {
  return std::clamp<std::uint64_t>(dealt / 8, 16, 4096);
}

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void installRunData(RunData data) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.data = std::move(data);
  resetRows(r);
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
  resetRows(r);
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

// The claim is made with the lock held: a row whose claim is not recorded yet is
// returned to no user (another thread dealing from the same block waits for it).
std::optional<std::uint64_t> dealUniqueRow(std::string_view feed, std::uint64_t rows) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.feeds.find(feed);
  if (it == r.feeds.end()) it = r.feeds.emplace(std::string(feed), FeedDeal{}).first;
  FeedDeal& deal = it->second;
  const std::size_t runs = r.runs.size();
  deal.dealt.resize(runs, 0);
  deal.claimed.resize(runs, 0);
  deal.exhausted.resize(runs, false);
  const std::uint32_t shares = std::max(1u, r.data.shareCount);
  for (std::uint32_t q = 0; q < runs; ++q) {
    if (deal.exhausted[q]) continue;
    const RowRun& run = r.runs[q];
    const std::uint64_t k = deal.dealt[q];
    const auto element = run.element(feed, k);
    const auto row =
        element ? shareRow(run.share, shares, r.data.runUsers, *element) : std::nullopt;
    if (!row || *row >= rows) {  // elements only grow: the run is used up
      deal.exhausted[q] = true;
      continue;
    }
    deal.dealt[q] = k + 1;
    if (deal.dealt[q] > deal.claimed[q]) {
      deal.claimed[q] = k + claimBlock(k);
      if (r.data.claimRows) r.data.claimRows(feed, q, deal.claimed[q], false);
    }
    return *row;
  }
  return std::nullopt;
}

void takeOverRows(const std::vector<RowRun>& left, std::uint32_t index, std::uint32_t count) {
  auto part = shareOfRows(left, index, count);
  if (!part) return;  // strides past 64 bits: nobody deals those rows
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.runs.insert(r.runs.end(), part->begin(), part->end());
}

void releaseRowClaims() {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.data.claimRows) return;
  for (const auto& [feed, deal] : r.feeds) {
    for (std::uint32_t q = 0; q < deal.dealt.size(); ++q) {
      if (deal.claimed[q] > 0) r.data.claimRows(feed, q, deal.dealt[q], true);
    }
  }
}

}  // namespace loads::detail
