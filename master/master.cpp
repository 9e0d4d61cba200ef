#include "master/master.hpp"

#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "master/distributed_run.hpp"
#include "master/live_dashboard.hpp"
#include "master/report_files.hpp"
#include "report/console_output.hpp"
#include "report/json_output.hpp"
#include "run/runner.hpp"
#include "run/test_library.hpp"
#include "stats/aggregate_result.hpp"
#include "util/parse.hpp"

namespace loads::master {
namespace {

using namespace std::chrono_literals;

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

}  // namespace

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

  AggregateOptions aggregateOptions;
  aggregateOptions.maxNames = options_.maxNames;
  AggregateResult result(aggregateOptions);
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
                  << options_.run.stopTimeout.count() / 1000.0
                  << " s to finish (Ctrl-C again to cancel them now)" << std::endl;
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
  std::vector<std::string> names;
  for (const auto& t : tests) names.push_back(t.fullName);
  return finishRun(options_, snap, describeRun(options_, names, startedAt), testsExitCode(snap),
                   abortedBy);
}

}  // namespace loads::master
