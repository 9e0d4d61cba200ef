// The test-data options of loads-master (docs/data.md): --include FILE (repeatable,
// globs) and --param key=value (repeatable), checked and put into the RunOptions that
// every run driver hands on (local Runner, JOB).
//
// Thread-safety: used while parsing options, on one thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "run/runner.hpp"

namespace CLI {
class App;
}

namespace loads::master {

// What a run may include in all: the RUN message carries the files with the library
// (PROTOCOL.md §5.1), so a local run refuses what a distributed one could not ship.
inline constexpr std::uint64_t kMaxIncludeBytes = std::uint64_t{32} << 20;  // 32 MiB

struct DataOptionsText {
  std::vector<std::string> includes;  // --include as typed (paths or globs)
  std::vector<std::string> params;    // --param key=value as typed
};

void addDataOptions(CLI::App& app, DataOptionsText& text);
// Expands the globs and checks the files (they exist, are regular files, have distinct
// names, fit kMaxIncludeBytes) and the params (key=value with a key). Throws
// std::invalid_argument with one sentence.
void applyDataOptions(const DataOptionsText& text, RunOptions& run);

}  // namespace loads::master
