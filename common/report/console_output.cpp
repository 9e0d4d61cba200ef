#include "report/console_output.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ostream>
#include <sstream>
#include <vector>

#include "report/table.hpp"
#include "stats/aggregate_result.hpp"

namespace loads {
namespace {

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string truncated(const std::string& s, std::size_t width) {
  return s.size() <= width ? s : s.substr(0, width - 3) + "...";
}

std::vector<std::string> latencyCells(const Histogram& h) {
  if (h.count() == 0) return {"-", "-", "-", "-", "-", "-", "-", "-"};
  return {formatMs(h.min()),          formatMs(h.percentile(50)),
          formatMs(h.percentile(90)), formatMs(h.percentile(95)),
          formatMs(h.percentile(99)), formatMs(h.percentile(99.9)),
          formatMs(h.max()),          formatMs(static_cast<std::int64_t>(h.mean() + 0.5))};
}

// Open model (hits with a planned start): both latencies, labelled as wrk2 does.
void printCorrected(const Snapshot& snap, std::ostream& out) {
  Table table({"request", "planned", "min", "p50", "p90", "p95", "p99", "p99.9", "max", "mean"});
  auto row = [&](const std::string& name, const RequestSummary& r) {
    std::vector<std::string> cells{truncated(name, 60), formatCount(r.planned)};
    for (auto& cell : latencyCells(r.latencyCorrected)) cells.push_back(std::move(cell));
    table.add(std::move(cells));
  };
  for (const auto& [name, r] : snap.requests) row(name, r);
  if (snap.requests.size() > 1) row("total", snap.allRequests);
  out << "Latency corrected (from planned start, coordinated omission corrected; ms)\n";
  table.print(out);
  out << '\n';
}

void printRequests(const Snapshot& snap, std::ostream& out) {
  const double seconds = runSeconds(snap);
  const bool open = snap.allRequests.planned > 0;
  Table table({"request", "requests", "failures", "req/s", "min", "p50", "p90", "p95", "p99",
               "p99.9", "max", "mean"});
  auto row = [&](const std::string& name, const RequestSummary& r) {
    std::vector<std::string> cells{truncated(name, 60), formatCount(r.count),
                                   formatCount(r.failures), fixed(r.count / seconds, 1)};
    for (auto& cell : latencyCells(r.latency)) cells.push_back(std::move(cell));
    table.add(std::move(cells));
  };
  for (const auto& [name, r] : snap.requests) row(name, r);
  if (snap.requests.size() > 1) row("total", snap.allRequests);
  if (open) printCorrected(snap, out);
  out << (open ? "Requests, latency uncorrected (from actual start; ms)\n"
               : "Requests (latencies in ms)\n");
  table.print(out);
  out << "\n  status codes:";
  for (const auto& [code, n] : snap.allRequests.statusCodes) {
    out << "  "
        << (code == 0              ? std::string("none")
            : code == kOtherStatus ? std::string(kOtherName)
                                   : std::to_string(code))
        << " x " << formatCount(n);
  }
  for (std::size_t i = 1; i < kErrorKindCount; ++i) {
    if (auto n = snap.allRequests.errorKinds[i]) {
      out << "  " << errorKindName(static_cast<ErrorKind>(i)) << " x " << formatCount(n);
    }
  }
  out << "\n\n";
}

void printDropped(const Snapshot& snap, std::ostream& out) {
  if (snap.targetKind != "rate" && snap.droppedHits == 0) return;
  std::uint64_t planned = snap.droppedHits;
  for (const auto& [name, t] : snap.tests) planned += t.started;
  out << "Dropped hits (planned, no free user: raise --max-users): "
      << formatCount(snap.droppedHits) << " of " << formatCount(planned) << " planned\n\n";
}

void printTests(const Snapshot& snap, std::ostream& out) {
  Table table({"test", "hits", "successes", "failures", "errors", "skips", "cancelled", "p50 ms",
               "p99 ms"});
  for (const auto& [name, t] : snap.tests) {
    const bool timed = t.hitTime.count() > 0;
    table.add({truncated(name, 60), formatCount(t.stopped), formatCount(t.successes),
               formatCount(t.failures), formatCount(t.errors), formatCount(t.skips),
               formatCount(t.cancelled), timed ? formatMs(t.hitTime.percentile(50)) : "-",
               timed ? formatMs(t.hitTime.percentile(99)) : "-"});
  }
  out << "Tests\n";
  table.print(out);
  out << '\n';
}

void printCountersAndSockets(const Snapshot& snap, std::ostream& out) {
  if (!snap.counters.empty()) {
    Table table({"counter", "value"});
    for (const auto& [name, value] : snap.counters) {
      const auto magnitude =
          value < 0 ? 0 - static_cast<std::uint64_t>(value) : static_cast<std::uint64_t>(value);
      table.add({name, (value < 0 ? "-" : "") + formatCount(magnitude)});
    }
    out << "Counters\n";
    table.print(out);
    out << '\n';
  }
  const SocketSummary& k = snap.sockets;
  if (k.any()) {
    out << "WebSockets\n"
        << "  opened " << formatCount(k.opened) << ", closed " << formatCount(k.closed) << " ("
        << formatCount(k.failed) << " not clean)\n"
        << "  sent " << formatCount(k.messagesSent) << " messages ("
        << fixed(k.messagesSent / runSeconds(snap), 1) << "/s), " << formatCount(k.bytesSent)
        << " bytes; received " << formatCount(k.messagesReceived) << " messages ("
        << fixed(k.messagesReceived / runSeconds(snap), 1) << "/s), "
        << formatCount(k.bytesReceived) << " bytes\n\n";
  }
}

void printErrors(const Snapshot& snap, std::ostream& out, std::size_t top) {
  if (snap.errors.empty()) return;
  out << "Top errors (" << snap.errors.size() << " distinct";
  if (snap.errorsDropped) out << ", " << formatCount(snap.errorsDropped) << " more not sampled";
  out << ")\n";
  Table table({"count", "test", "error"}, "rll");
  for (std::size_t i = 0; i < snap.errors.size() && i < top; ++i) {
    const ErrorSample& e = snap.errors[i];
    std::string text = e.type + ": " + truncated(e.message, 120);
    if (!e.file.empty()) text += " (" + e.file + ":" + std::to_string(e.line) + ")";
    table.add({formatCount(e.count), e.test, text});
  }
  table.print(out);
  out << '\n';
}

// A cap on distinct names was reached: one sentence each, before the tables it explains.
void printOverflows(const Snapshot& snap, std::ostream& out) {
  for (const NameOverflow& o : snap.overflows) out << "Note: " << overflowSentence(o) << "\n";
  if (!snap.overflows.empty()) out << '\n';
}

}  // namespace

bool stdoutIsTerminal() { return ::isatty(STDOUT_FILENO) == 1; }

std::string formatDuration(std::chrono::microseconds d) {
  const auto total = std::max<std::int64_t>(0, d.count() / 1'000'000);
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60), static_cast<long long>(total % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%lld:%02lld", static_cast<long long>(total / 60),
                  static_cast<long long>(total % 60));
  }
  return buf;
}

std::string formatMs(std::int64_t us) {
  const double ms = static_cast<double>(us) / 1000.0;
  return fixed(ms, ms < 10 ? 2 : ms < 100 ? 1 : 0);
}

std::string formatCount(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

double runSeconds(const Snapshot& snap) {
  std::int64_t us = 0;
  if (snap.runStartedUs && snap.runStoppedUs) {
    us = snap.runStoppedUs - snap.runStartedUs;
  } else {
    us = snap.lastEventUs - snap.firstEventUs;
  }
  return std::max(1e-6, static_cast<double>(us) / 1e6);
}

ConsoleOutput::ConsoleOutput(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}

std::string ConsoleOutput::liveLine(const Snapshot& snap, const LiveInfo& info) {
  std::int64_t lastSecond = info.nowUs / 1'000'000 - 1;
  if (info.nowUs == 0) lastSecond = snap.seconds.empty() ? 0 : snap.seconds.back().second - 1;
  const SecondSample* last = nullptr;
  for (const SecondSample& s : snap.seconds) {
    if (s.second == lastSecond) last = &s;
  }
  std::uint64_t hits = 0, testErrors = 0;
  for (const auto& [name, t] : snap.tests) {
    hits += t.stopped;
    testErrors += t.failures + t.errors;
  }
  std::ostringstream line;
  line << formatDuration(info.elapsed);
  if (info.remaining) line << " (" << formatDuration(*info.remaining) << " left)";
  line << " | " << snap.currentUsers << " users";
  if (snap.targetKind == "users") line << " (target " << fixed(snap.currentTarget, 0) << ")";
  line << " | " << formatCount(hits) << " hits | " << formatCount(snap.allRequests.count)
       << " requests, " << formatCount(last ? last->requests : 0) << " req/s";
  if (snap.targetKind == "rate") {
    line << " (target " << fixed(snap.currentTarget, 0) << "/s, " << formatCount(snap.droppedHits)
         << " dropped)";
  }
  line << " | " << formatCount(snap.allRequests.failures + testErrors) << " errors | p99 ";
  if (last && last->requests) {
    line << formatMs(last->p99Us) << " ms";
  } else if (snap.allRequests.count) {
    line << formatMs(snap.allRequests.latency.percentile(99)) << " ms (run)";
  } else {
    line << "-";
  }
  line << info.columns;
  return line.str();
}

void ConsoleOutput::printLive(const Snapshot& snapshot, const LiveInfo& info) {
  if (terminal_) {
    out_ << "\r\033[2K" << liveLine(snapshot, info) << std::flush;
    lineOpen_ = true;
  } else {
    out_ << liveLine(snapshot, info) << std::endl;
  }
}

void ConsoleOutput::finishLive() {
  if (lineOpen_) out_ << '\n' << std::flush;
  lineOpen_ = false;
}

void ConsoleOutput::printReport(const Snapshot& snap, std::ostream& out) {
  out << "Run: " << fixed(runSeconds(snap), 1) << " s, max " << snap.maxUsers << " users\n\n";
  printOverflows(snap, out);
  if (!snap.requests.empty()) printRequests(snap, out);
  printDropped(snap, out);
  if (!snap.tests.empty()) printTests(snap, out);
  printCountersAndSockets(snap, out);
  printErrors(snap, out, 10);
}

}  // namespace loads
