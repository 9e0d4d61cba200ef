// RowRuns: which rows of a unique CSV feeder a runner deals, and how the rows of a runner
// that left a distributed run early go to the others (loads-master --rebalance,
// docs/data.md "Feeders", PROTOCOL.md §5.1 REBALANCE `rows`).
//
// Share i of n of a cycle's U users owns the rows of its users: row r is user r mod U's,
// so its own rows, in order, are element 0, 1, 2, … of shareRow(i, n, U, ·). A runner
// deals runs of those elements: first its own (every element of its share), then each
// run it took over. A run names a share, an offset and a stride over its elements, and
// per feed (file name) how many elements the feed had already dealt before the run
// changed hands, so that one run describes every feed at once, the ones no runner named
// yet included. When a runner leaves, what it had not dealt of each of its runs is split
// over the n' runners that stay: runner j takes every n'-th element from the j-th.
//
// Thread-safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace loads {

struct RowRun {
  std::uint32_t share = 0;   // whose users' rows (the JOB index of the run's split)
  std::uint64_t offset = 0;  // the run's element k is the share's element
  std::uint64_t stride = 1;  //   offset + shift[feed] + k·stride
  std::map<std::string, std::uint64_t, std::less<>> shift;  // by feed; absent = 0
  bool operator==(const RowRun&) const = default;

  // The share's element that is element `k` of this run for `feed`; nullopt when it
  // does not fit in 64 bits (no such row).
  std::optional<std::uint64_t> element(std::string_view feed, std::uint64_t k) const;
};

// A runner's own run: every element of its share.
inline RowRun ownRun(std::uint32_t share) { return RowRun{share, 0, 1, {}}; }

// The row number of element `k` of share `share` of `shares` over `users` users; nullopt
// when the share has no user (rows of the file beyond it are simply not there: callers
// compare with the file's rows).
std::optional<std::uint64_t> shareRow(std::uint32_t share, std::uint32_t shares,
                                      std::uint64_t users, std::uint64_t k);

// How far a runner got in one run of one feed: elements 0 … upTo−1 may have been dealt.
// A runner claims ahead of what it deals (`exact` false) and says the exact count when
// its run ends (`exact` true), which is then the last word.
struct RowClaim {
  std::uint64_t upTo = 0;
  bool exact = false;
  void note(std::uint64_t value, bool isExact) {
    if (exact) return;  // the runner's last word
    if (isExact) {
      upTo = value;
      exact = true;
    } else if (value > upTo) {
      upTo = value;  // claims of several threads may arrive out of order
    }
  }
};
using RowClaims = std::map<std::pair<std::string, std::uint32_t>, RowClaim>;  // (feed, run)

// What is left of `runs` (a runner's, in order) once `claims` were dealt: the same runs,
// each claimed feed's shift moved past its claim. nullopt when a number overflows.
std::optional<std::vector<RowRun>> remainingRows(std::vector<RowRun> runs, const RowClaims& claims);

// Runner `index`'s part of `left` when `count` runners share it: of each run, every
// count-th element from the index-th. nullopt when a number overflows.
std::optional<std::vector<RowRun>> shareOfRows(const std::vector<RowRun>& left, std::uint32_t index,
                                               std::uint32_t count);

}  // namespace loads
