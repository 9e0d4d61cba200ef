// ConsoleOutput: the live status line and the end-of-run report on the console.
//
// The master calls printLive() about once a second with a fresh snapshot. On a terminal
// the line is redrawn in place (\r and clear-line, no newline) and finishLive() ends it;
// elsewhere (logs, CI) each call prints one plain line and the caller prints every 10 s.
// printReport() writes the aligned tables of the final report.
//
// Thread-safety: none; one thread (the master's) uses it. The stream must outlive it.
#pragma once

#include <chrono>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

namespace loads {

struct Snapshot;

// Whether standard output is a terminal (decides in-place redraw vs. plain lines).
bool stdoutIsTerminal();

struct LiveInfo {
  std::chrono::microseconds elapsed{0};  // since the run started
  // Time left for a duration-bound run; nullopt when the run is bound by hits (default).
  std::optional<std::chrono::microseconds> remaining;
  // Wall clock, µs since the epoch: req/s and p99 come from the second before it. 0 (the
  // default) uses the second before the newest one in the snapshot.
  std::int64_t nowUs = 0;
  // Appended to the line as is: the distributed run's "  agents 2/3"; default none.
  std::string columns;
};

class ConsoleOutput {
 public:
  ConsoleOutput(std::ostream& out, bool terminal);

  void printLive(const Snapshot& snapshot, const LiveInfo& info);
  // Ends a redrawn line with a newline (on a terminal, after the last printLive()).
  void finishLive();

  // The live status line alone: elapsed and remaining, users, hits, requests and req/s
  // of the last complete second, errors, p99.
  static std::string liveLine(const Snapshot& snapshot, const LiveInfo& info);
  static void printReport(const Snapshot& snapshot, std::ostream& out);

 private:
  std::ostream& out_;
  bool terminal_;
  bool lineOpen_ = false;  // a redrawn line is on screen without its newline
};

// Formatting shared with other outputs.
std::string formatDuration(std::chrono::microseconds d);  // "1:02:03" or "2:03"
std::string formatMs(std::int64_t us);     // milliseconds, 2 / 1 / 0 decimals by size
std::string formatCount(std::uint64_t n);  // thousands separated: "12,345"
// Run length for rates: stop - start when both are known, else last - first event.
double runSeconds(const Snapshot& snapshot);

}  // namespace loads
