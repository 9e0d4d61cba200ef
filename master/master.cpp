#include "master.hpp"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "aggregate_result.hpp"
#include "console_output.hpp"
#include "distributed_run.hpp"
#include "json_output.hpp"
#include "live_dashboard.hpp"
#include "parse.hpp"
#include "report_files.hpp"
#include "runner.hpp"
#include "test_library.hpp"

namespace loads::master {
namespace {

using namespace std::chrono_literals;

// Test failures or errors make the run exit 1 (design.md §8).
int exitCodeFor(const Snapshot& snap) {
  for (const auto& [name, test] : snap.tests) {
    if (test.failures > 0 || test.errors > 0) return 1;
  }
  return 0;
}

// One sentence when no request at all reached the server: the usual cause is a wrong
// --server-url or a server that is down.
void explainUnreachable(const Snapshot& snap, const std::string& serverUrl) {
  const RequestSummary& all = snap.allRequests;
  auto kind = [&](ErrorKind k) { return all.errorKinds[static_cast<std::size_t>(k)]; };
  std::uint64_t unreachable = kind(ErrorKind::kRefused) + kind(ErrorKind::kDns);
  if (all.count == 0 || unreachable != all.count) return;
  std::cerr << "loads-master: no request reached the server (" << all.count
            << " refused or unresolved): is " << (serverUrl.empty() ? "the server" : serverUrl)
            << " running, and is --server-url right?" << std::endl;
}

LiveInfo liveInfo(const Progress& progress) {
  using std::chrono::microseconds;
  LiveInfo info;
  info.elapsed = std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() -
                                                          progress.cycleStart);
  if (progress.duration) {
    info.remaining = std::max(microseconds(0), microseconds(*progress.duration) - info.elapsed);
  }
  return info;
}

std::int64_t epochUs(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

RunInfo Master::runInfo(const std::vector<SelectedTest>& tests,
                        std::chrono::system_clock::time_point startedAt, int exitCode) const {
  RunInfo info;
  info.library = options_.library;
  for (const auto& t : tests) info.tests.push_back(t.fullName);
  const RunOptions& run = options_.run;
  info.options["users"] = options_.usersText;
  if (!options_.hitsText.empty()) info.options["hits"] = options_.hitsText;
  if (run.duration) info.options["duration_ms"] = std::to_string(run.duration->count());
  info.options["ramp_ms"] = std::to_string(run.ramp.count());
  info.options["threads"] = std::to_string(run.threads);
  info.options["stop_timeout_ms"] = std::to_string(run.stopTimeout.count());
  info.options["server_url"] = run.user.serverUrl;
  info.options["insecure"] = run.user.insecure ? "true" : "false";
  info.options["timeout_ms"] = std::to_string(run.user.requestTimeout.count());
  if (run.rate) {
    info.options["rate_stages"] = formatStages(run.rate->stages());
    info.options["rate_start"] = std::to_string(run.rate->start());
    info.options["max_users"] = std::to_string(run.maxUsers);
  }
  if (run.userStages) info.options["stages"] = formatStages(run.userStages->stages());
  info.startedUs = epochUs(startedAt);
  info.endedUs = epochUs(std::chrono::system_clock::now());
  info.exitCode = exitCode;
  return info;
}

Master::Master(MasterOptions options, SignalWaiter& signals)
    : options_(std::move(options)), signals_(signals) {}

int Master::run() {
  if (!options_.reportFile.empty()) return renderSavedReport(options_);
  if (options_.distributed() && !options_.list) return DistributedRun(options_, signals_).run();
  return runLocal();
}

int Master::runLocal() {
  TestLibrary library;
  std::vector<SelectedTest> tests;
  try {
    library = TestLibrary::load(options_.library);
    if (options_.list) {
      for (const auto& name : library.testNames()) std::cout << name << "\n";
      return 0;
    }
    tests = library.select(options_.tests);
  } catch (const LoadError& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 2;
  }

  AggregateResult result;
  ConsoleOutput console(std::cout, stdoutIsTerminal());
  Runner runner(tests, options_.run, result);
  if (*scheduleKind(options_.run)) {
    result.setTarget(scheduleKind(options_.run),
                     [&runner](std::int64_t epochUs) { return runner.targetAt(epochUs); });
  }
  std::unique_ptr<LiveDashboard> dashboard;
  if (options_.web) {
    auto clock = [&runner] {
      const Progress progress = runner.progress();
      const LiveInfo info = liveInfo(progress);
      return DashboardClock{info.elapsed, info.remaining, progress.stopping};
    };
    dashboard = LiveDashboard::start(*options_.web, "local", result, clock,
                                     [this] { signals_.interrupt(); });  // like Ctrl-C
    if (!dashboard) return 2;
  }
  auto startedAt = std::chrono::system_clock::now();
  std::thread runThread([&] {
    runner.run();
    signals_.notifyDone();
  });

  // The main thread: live line, Ctrl-C, and the end of the run.
  bool live = !options_.quiet;
  auto interval = stdoutIsTerminal() ? 1s : 10s;
  auto nextLive = std::chrono::steady_clock::now() + interval;
  int interrupts = 0;
  // --abort-on-fail: thresholds are checked every second until one can no longer pass.
  const bool watch = options_.abortOnFail;
  auto nextCheck = std::chrono::steady_clock::now() + 1s;
  std::optional<std::size_t> abortedBy;
  while (true) {
    const bool watching = watch && !abortedBy;
    const auto due = watching ? std::min(nextLive, nextCheck) : nextLive;
    Wake wake = signals_.wait(std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(due - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration(0))));
    if (wake == Wake::kDone) break;
    if (wake == Wake::kInterrupt) {
      if (++interrupts == 1) {
        std::cerr << "\nloads-master: stopping; hits in flight get "
                  << options_.run.stopTimeout.count() / 1000.0 << " s to finish (Ctrl-C again to cancel them now)" << std::endl;
        runner.stop();
      } else {
        runner.cancel();
      }
      continue;
    }
    if (watching && std::chrono::steady_clock::now() >= nextCheck) {
      nextCheck += 1s;
      abortedBy = hopelessThreshold(options_.thresholds, result.snapshot());
      if (abortedBy) {
        std::cerr << "\nloads-master: threshold '" << options_.thresholds[*abortedBy].expression
                  << "' can no longer pass: stopping the run (--abort-on-fail)" << std::endl;
        runner.stop();
      }
    }
    if (std::chrono::steady_clock::now() < nextLive) continue;
    nextLive += interval;
    if (live) console.printLive(result.snapshot(), liveInfo(runner.progress()));
  }
  runThread.join();
  if (live) console.finishLive();

  Snapshot snap = result.snapshot();
  if (dashboard) dashboard->finish(snap);
  ConsoleOutput::printReport(snap, std::cout);
  explainUnreachable(snap, options_.run.user.serverUrl);
  std::vector<ThresholdResult> verdicts = evaluateThresholds(options_.thresholds, snap);
  if (abortedBy) verdicts[*abortedBy].abortedRun = true;
  printThresholds(verdicts, std::cout);
  int code = exitCodeWithThresholds(exitCodeFor(snap), verdicts);
  if (wantsReportFiles(options_)) {
    auto report = jsonReport(snap, runInfo(tests, startedAt, code));
    report["thresholds"] = thresholdsJson(verdicts);
    if (!writeReportFiles(options_, report)) return 2;
  }
  return code;
}

}  // namespace loads::master
