// RunData: what the tests of the process's current run read besides their users: the
// data files shipped with --include, the --param values, and this runner's share of a
// distributed run (for unique feeders). Installed by the Runner's constructor (one run
// at a time per process), read by loads::dataFile(), loads::config() and the feeders
// (loads/data.hpp), which may live longer than a run (a static CsvFeeder).
//
// Thread-safety: every function may be called from any thread; a reader gets a copy.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "run/row_runs.hpp"

namespace loads::detail {

// Claims a unique feeder's rows (RowClaim): feed, run, up to, exact.
using ClaimRows = std::function<void(std::string_view, std::uint32_t, std::uint64_t, bool)>;

struct RunData {
  std::map<std::string, std::string> files;   // --include: name → path on this machine; none
  std::map<std::string, std::string> params;  // --param key=value; none
  std::uint32_t shareIndex = 0;               // this runner's share of the run (0)
  std::uint32_t shareCount = 1;               // shares of the run; 1 = local
  std::function<void()> stopRun;              // ends the run (a feeder out of rows); none
  std::uint64_t runUsers = 1;                 // users of the running cycle over the whole run (1)
  std::uint64_t generation = 0;               // bumped by every cycle: unique feeders start over
  ClaimRows claimRows;                        // where unique feeders' claims go; none
};

// Replaces the process's run data (RunData{} when a run ends).
void installRunData(RunData data);
// A data file's path here; nullopt when the run did not include it.
std::optional<std::string> runFile(const std::string& name);
std::optional<std::string> runParam(const std::string& key);
// What a unique feeder deals by: the share, the cycle's users and its generation.
struct RunShare {
  std::uint32_t index = 0, count = 1;
  std::uint64_t runUsers = 1, generation = 0;
};
RunShare runShare();
// A cycle starts with `runUsers` users over the whole run (closed model; the open
// model's pool; the most users of stages).
void startRunCycle(std::uint64_t runUsers);
// Ends the run, as a unique feeder out of rows asks; false when no run is installed.
bool stopCurrentRun();

// Unique feeders (run/row_runs.hpp): the next row of `feed`, a file of `rows` rows, that
// this runner deals; nullopt when its rows of it are used up. A row is claimed (through
// RunData::claimRows) before it is returned.
std::optional<std::uint64_t> dealUniqueRow(std::string_view feed, std::uint64_t rows);
// Runner `index` of `count` takes its part of the rows a runner that left had not dealt
// (REBALANCE `rows`): they are dealt after the rows it has.
void takeOverRows(const std::vector<RowRun>& left, std::uint32_t index, std::uint32_t count);
// Says through RunData::claimRows exactly how far each feed got in each run (the run ends).
void releaseRowClaims();

}  // namespace loads::detail
