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

namespace loads::detail {

struct RunData {
  std::map<std::string, std::string> files;   // --include: name → path on this machine; none
  std::map<std::string, std::string> params;  // --param key=value; none
  std::uint32_t shareIndex = 0;               // this runner's share of the run (0)
  std::uint32_t shareCount = 1;               // shares of the run; 1 = local
  std::function<void()> stopRun;              // ends the run (a feeder out of rows); none
};

// Replaces the process's run data (RunData{} when a run ends).
void installRunData(RunData data);
// A data file's path here; nullopt when the run did not include it.
std::optional<std::string> runFile(const std::string& name);
std::optional<std::string> runParam(const std::string& key);
// The share of the run (index, count) as installed or re-split.
std::pair<std::uint32_t, std::uint32_t> runShare();
// Ends the run, as a unique feeder out of rows asks; false when no run is installed.
bool stopCurrentRun();

// A REBALANCE gave this runner share `index` of `count`: unique feeders re-split the
// rows they have not reached (loads/data.hpp, docs/data.md).
void resplitRunData(std::uint32_t index, std::uint32_t count);

// What a feeder registers to hear of re-splits; called with the registry's lock held.
class ResplitListener {
 public:
  virtual void resplit(std::uint32_t index, std::uint32_t count) = 0;

 protected:
  ~ResplitListener() = default;
};
void addResplitListener(ResplitListener* listener);
void removeResplitListener(ResplitListener* listener);

}  // namespace loads::detail
