// The JSON report: the complete summary of a run and its per-second series.
//
// The format is documented field by field in docs/json-report.md and versioned by its
// "schema" field (currently 1): fields are only ever added within a schema version.
//
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <map>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace loads {

struct Snapshot;

inline constexpr int kJsonReportSchema = 1;

// What the report says about the run itself.
struct RunInfo {
  std::string library;                         // test library path; default empty
  std::vector<std::string> tests;              // tests selected ("Class.method"); default none
  std::map<std::string, std::string> options;  // effective options as text; default none
  std::int64_t startedUs = 0;                  // wall clock, µs since the epoch; 0 = unknown
  std::int64_t endedUs = 0;                    // wall clock, µs since the epoch; 0 = unknown
  int exitCode = 0;                            // the tool's exit code (design.md §8); default 0
};

nlohmann::ordered_json jsonReport(const Snapshot& snapshot, const RunInfo& run);
// Writes jsonReport() indented by two spaces, with a trailing newline.
void writeJsonReport(const Snapshot& snapshot, const RunInfo& run, std::ostream& out);

}  // namespace loads
