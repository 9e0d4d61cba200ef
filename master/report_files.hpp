// What loads-master does with a run's results besides the console report: threshold
// verdicts and exit code, and the report files (--json, --html, --csv, --junit), also
// re-rendered from a saved JSON report (--report).
//
// Every report file is rendered from the JSON report *as written to disk* (serialised,
// then parsed back), so `--report run.json --html x.html` gives the same bytes as the
// run's own --html. Distributed and local runs call the same functions.
// Thread-safety: none needed; called from the master's main thread.
#pragma once

#include <chrono>
#include <functional>
#include <iosfwd>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <vector>

#include "master/options.hpp"
#include "report/json_output.hpp"
#include "report/thresholds.hpp"

namespace loads {
struct Snapshot;
}

namespace loads::master {

// Checks the report and threshold options and parses each --threshold into
// options.thresholds. Throws std::invalid_argument with one sentence on a usage error.
void checkReportOptions(MasterOptions& options, const std::vector<std::string>& thresholds);

// Exit 99 when a threshold failed, unless the run already ends in a usage (2) or an
// infrastructure error (3): precedence 2, 3, 99, 1, 0 (docs/thresholds.md).
int exitCodeWithThresholds(int code, const std::vector<ThresholdResult>& results);

// The "Thresholds" block of the console report; nothing when there are none.
void printThresholds(const std::vector<ThresholdResult>& results, std::ostream& out);

// For --abort-on-fail: the index of the first threshold that can no longer pass.
std::optional<std::size_t> hopelessThreshold(const std::vector<Threshold>& thresholds,
                                             const Snapshot& snapshot);

// Whether any of --json, --html, --csv, --junit was asked for.
bool wantsReportFiles(const MasterOptions& options);

// Writes `report` (jsonReport() plus "thresholds" and any mode-specific fields) to every
// file the options ask for. Returns false after printing one sentence per file that
// could not be written.
bool writeReportFiles(const MasterOptions& options, const nlohmann::ordered_json& report);

// 1 when any test failed or erred, else 0 (design.md §8).
int testsExitCode(const Snapshot& snapshot);

// What the reports say about the run: library, tests, the options as typed, start time.
RunInfo describeRun(const MasterOptions& options, const std::vector<std::string>& tests,
                    std::chrono::system_clock::time_point startedAt);

// The end of every run, local or distributed, after the console report: prints the
// threshold verdicts, folds them into `code`, and writes the report files with
// `extend` adding mode-specific fields (agents, problems). Returns the exit code.
int finishRun(const MasterOptions& options, const Snapshot& snapshot, RunInfo info, int code,
              std::optional<std::size_t> abortedBy,
              const std::function<void(nlohmann::ordered_json&)>& extend = {});

// --report FILE: renders the saved JSON report to --html/--csv/--junit. Returns the
// exit code: 0, or 2 when the file cannot be read or is not a loads JSON report.
int renderSavedReport(const MasterOptions& options);

}  // namespace loads::master
