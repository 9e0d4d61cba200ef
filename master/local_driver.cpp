#include "master/local_driver.hpp"

#include <iostream>

#include "report/console_output.hpp"
#include "run/runner.hpp"
#include "stats/aggregate_result.hpp"

namespace loads::master {

void explainUnreachable(const Snapshot& snap, const std::string& serverUrl) {
  const RequestSummary& all = snap.allRequests;
  auto kind = [&](ErrorKind k) { return all.errorKinds[static_cast<std::size_t>(k)]; };
  std::uint64_t unreachable = kind(ErrorKind::kRefused) + kind(ErrorKind::kDns);
  if (all.count == 0 || unreachable != all.count) return;
  std::cerr << "loads-master: no request reached the server (" << all.count
            << " refused or unresolved): is " << (serverUrl.empty() ? "the server" : serverUrl)
            << " running, and is --server-url right?" << std::endl;
}

LocalDriver::LocalDriver(const MasterOptions& options, AggregateResult& result, Waiter& waiter)
    : options_(options), result_(result), waiter_(waiter) {}

LocalDriver::~LocalDriver() {
  if (cycleThread_.joinable()) cycleThread_.join();
}

int LocalDriver::prepare() {
  try {
    library_ = TestLibrary::load(options_.library);
    tests_ = library_.select(options_.tests);
  } catch (const LoadError& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 2;
  }
  runner_ = std::make_unique<Runner>(tests_, options_.run, result_);
  if (*scheduleKind(options_.run)) {
    result_.setTarget(scheduleKind(options_.run), [runner = runner_.get()](std::int64_t epochUs) {
      return runner->targetAt(epochUs);
    });
  }
  return 0;
}

std::size_t LocalDriver::cycles() const { return runner_->cycles(); }

int LocalDriver::startCycle(std::size_t index) {
  if (cycleThread_.joinable()) cycleThread_.join();
  if (!started_) {
    startedAt_ = std::chrono::system_clock::now();
    runner_->start();
    started_ = true;
  }
  cycleDone_ = false;
  cycleThread_ = std::thread([this, index] {
    runner_->runCycle(index);
    cycleDone_ = true;
    waiter_.notifyDone();
  });
  return 0;
}

void LocalDriver::requestStop(StopKind kind) {
  if (kind == StopKind::kHard) {
    runner_->cancel();
    return;
  }
  std::cerr << "\nloads-master: stopping; hits in flight get "
            << options_.run.stopTimeout.count() / 1000.0
            << " s to finish (Ctrl-C again to cancel them now)" << std::endl;
  runner_->stop();
}

CycleTime LocalDriver::clock() const {
  using std::chrono::microseconds;
  const Progress progress = runner_->progress();
  CycleTime time;
  time.elapsed = std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() -
                                                          progress.cycleStart);
  if (progress.duration) {
    time.remaining = std::max(microseconds(0), microseconds(*progress.duration) - time.elapsed);
  }
  time.stopping = progress.stopping;
  return time;
}

void LocalDriver::wrapUp() {
  if (cycleThread_.joinable()) cycleThread_.join();
  if (started_) runner_->finish();
}

RunEnding LocalDriver::end(const Snapshot& snapshot) {
  explainUnreachable(snapshot, options_.run.user.serverUrl);
  RunEnding ending;
  for (const auto& t : tests_) ending.tests.push_back(t.fullName);
  ending.startedAt = startedAt_;
  return ending;
}

}  // namespace loads::master
