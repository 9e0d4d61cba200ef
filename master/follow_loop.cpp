#include "master/follow_loop.hpp"

#include <algorithm>
#include <iostream>

#include "master/live_dashboard.hpp"
#include "master/metrics_endpoint.hpp"
#include "master/report_files.hpp"
#include "stats/aggregate_result.hpp"

namespace loads::master {

using namespace std::chrono_literals;

FollowSeams FollowSeams::real() {
  return {[] { return Clock::now(); }, &std::cout, stdoutIsTerminal()};
}

FollowLoop::FollowLoop(const MasterOptions& options, RunDriver& driver, AggregateResult& result,
                       Waiter& waiter, FollowSeams seams)
    : options_(options),
      driver_(driver),
      result_(result),
      waiter_(waiter),
      seams_(std::move(seams)),
      console_(*seams_.out, seams_.terminal),
      live_(!options.quiet),
      liveInterval_(seams_.terminal ? Clock::duration(1s) : Clock::duration(10s)) {}

FollowLoop::~FollowLoop() = default;

int FollowLoop::run() {
  if (int code = driver_.prepare()) return code;
  if (options_.metrics || options_.web) {
    MetricsRun live{driver_.mode(), false,
                    describeRun(options_, {}, std::chrono::system_clock::now())};
    metrics_ = std::make_unique<MetricsEndpoint>(result_, std::move(live), waiter_);
    if (options_.metrics && !metrics_->serve(*options_.metrics)) return 2;
  }
  if (options_.web) {
    auto clock = [this] {
      const CycleTime time = driver_.clock();
      return DashboardClock{time.elapsed, time.remaining, time.stopping};
    };
    dashboard_ = LiveDashboard::start(
        *options_.web, driver_.mode(), result_, clock,
        [this] { waiter_.interrupt(); },  // like Ctrl-C
        [this] { return metrics_->text(); });
    if (!dashboard_) return 2;
  }
  // A stop request ends the run, not just its cycle: later cycles do not start; nor do
  // they after a problem the driver reports.
  const bool schedule = options_.run.rate || options_.run.userStages;
  for (std::size_t cycle = 0; cycle < driver_.cycles() && stopRequests_ == 0 && driver_.canGoOn();
       ++cycle) {
    const CycleTotals before = totalsOf(result_.snapshot());
    const TimePoint began = seams_.now();
    if (int code = driver_.startCycle(cycle)) return code;
    nextLive_ = seams_.now() + liveInterval_;
    nextCheck_ = seams_.now() + 1s;
    follow();
    // The cycle's line: the local runner's events are all in, so are the agents' totals.
    const bool shaped = !schedule && cycle < cycleCount(options_.run);
    const CycleShape shape = shaped ? cycleShape(options_.run, cycle) : CycleShape{};
    cycleLines_.push_back(
        cycleLine(cycle, shape.users, shape.hits,
                  std::chrono::duration_cast<std::chrono::milliseconds>(seams_.now() - began),
                  before, totalsOf(result_.snapshot())));
  }
  return end();
}

// One cycle: the driver's work, the ticks and the stop requests until it is over.
void FollowLoop::follow() {
  for (;;) {
    driver_.advance();
    if (dashboard_) dashboard_->setAgents(driver_.agents());
    if (driver_.cycleFinished()) return;
    const Wake wake = waiter_.wait(untilDue());
    if (wake == Wake::kDone) continue;  // the driver's cycle ended: seen at the top
    if (wake == Wake::kInterrupt) onStopRequest();
    tick();
  }
}

std::chrono::milliseconds FollowLoop::untilDue() const {
  TimePoint due = nextLive_;
  if (options_.abortOnFail && !abortedBy_) due = std::min(due, nextCheck_);
  auto wait = std::max(due - seams_.now(), Clock::duration(0));
  if (auto poll = driver_.pollInterval()) wait = std::min<Clock::duration>(wait, *poll);
  return std::chrono::ceil<std::chrono::milliseconds>(wait);
}

// What is due now: the --abort-on-fail check, the live line.
void FollowLoop::tick() {
  const TimePoint now = seams_.now();
  if (options_.abortOnFail && !abortedBy_ && now >= nextCheck_) {
    nextCheck_ += 1s;
    checkThresholds();
  }
  if (now < nextLive_) return;
  nextLive_ += liveInterval_;
  if (live_) console_.printLive(result_.snapshot(), liveInfo());
}

void FollowLoop::checkThresholds() {
  abortedBy_ = hopelessThreshold(options_.thresholds, result_.snapshot());
  if (!abortedBy_) return;
  std::cerr << "\nloads-master: threshold '" << options_.thresholds[*abortedBy_].expression
            << "' can no longer pass: stopping the run (--abort-on-fail)" << std::endl;
  onStopRequest();  // as a first Ctrl-C: a second one stops hard
}

void FollowLoop::onStopRequest() {
  ++stopRequests_;
  driver_.requestStop(stopRequests_ == 1 ? StopKind::kGraceful : StopKind::kHard);
}

LiveInfo FollowLoop::liveInfo() const {
  const CycleTime time = driver_.clock();
  LiveInfo info;
  info.elapsed = time.elapsed;
  info.remaining = time.remaining;
  info.columns = driver_.liveColumns();
  return info;
}

// The ending, the same for every mode: the console report, then the mode's part, then
// the thresholds, the report files and the exit code.
int FollowLoop::end() {
  driver_.wrapUp();
  if (live_) console_.finishLive();
  const Snapshot snap = result_.snapshot();
  if (dashboard_) {
    dashboard_->setAgents(driver_.agents());
    dashboard_->finish(snap);
  }
  ConsoleOutput::printReport(snap, *seams_.out);
  printCycles(cycleLines_, *seams_.out);
  RunEnding ending = driver_.end(snap);
  const int code = ending.code != 0 ? ending.code : testsExitCode(snap);
  RunFacts facts = describeRun(options_, ending.tests, ending.startedAt);
  facts.distributed = std::move(ending.distributed);
  facts.crashes = std::move(ending.crashes);
  facts.cycles = cycleLines_;
  if (!metrics_) return finishRun(options_, snap, std::move(facts), code, abortedBy_);
  MetricsRun final{driver_.mode(), true, facts};
  const int exitCode = finishRun(options_, snap, std::move(facts), code, abortedBy_);
  final.facts.exitCode = exitCode;
  final.facts.thresholds = evaluateThresholds(options_.thresholds, snap);
  metrics_->finish(snap, std::move(final));
  metrics_->lingerFor(options_.linger.value_or(options_.metrics ? std::chrono::milliseconds(5000)
                                                                : std::chrono::milliseconds(0)));
  return exitCode;
}

}  // namespace loads::master
