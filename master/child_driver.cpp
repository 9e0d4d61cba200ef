#include "master/child_driver.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <thread>

#include "agent/crash_report.hpp"
#include "agent/event_ring.hpp"
#include "agent/ringed_slave.hpp"
#include "agent/slave_runner.hpp"
#include "master/broker_link.hpp"
#include "master/job_options.hpp"
#include "master/local_driver.hpp"
#include "master/ring_reader.hpp"
#include "report/console_output.hpp"
#include "run/test_library.hpp"
#include "stats/aggregate_result.hpp"

namespace loads::master {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kScheduleLead = 250ms;  // --rate/--stages: time 0 this far after the slave starts
constexpr auto kStopGrace = 10s;       // after --stop-timeout, SIGKILL (as an agent's --stop-grace)
constexpr const char* kAgentId = "local";

}  // namespace

std::string findSlaveBinary() {
  namespace fs = std::filesystem;
  if (const char* given = std::getenv("LOADS_SLAVE_BINARY")) {
    return ::access(given, X_OK) == 0 ? given : "";
  }
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (const fs::path& candidate : {self.parent_path() / "loads-slave",
                                    self.parent_path().parent_path() / "agent" / "loads-slave"}) {
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

CrashFacts crashFacts(const proto::CrashInfo& crash, std::string agent) {
  CrashFacts facts{std::move(agent), crash.signal, crash.signalName, crash.description,
                   crash.test,       crash.user,   crash.hit,        {}};
  for (const auto& f : crash.frames) facts.frames.push_back({f.module, f.offset, f.function});
  return facts;
}

ChildDriver::ChildDriver(const MasterOptions& options, AggregateResult& result, Waiter& waiter)
    : options_(options), result_(result), waiter_(waiter) {}

ChildDriver::~ChildDriver() = default;

int ChildDriver::prepare() {
  try {  // here, so that a library that cannot be used is exit 2 before any slave starts
    TestLibrary library = TestLibrary::load(options_.library);
    for (const auto& t : library.select(options_.tests)) tests_.push_back(t.fullName);
  } catch (const LoadError& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return 2;
  }
  library_ = std::filesystem::absolute(options_.library).string();
  slaveBinary_ = findSlaveBinary();
  if (slaveBinary_.empty()) {
    std::cerr << "loads-master: cannot find loads-slave next to loads-master (or the "
                 "executable $LOADS_SLAVE_BINARY names): install it there, or run the tests in "
                 "this process with --in-process"
              << std::endl;
    return 2;
  }
  return 0;
}

std::size_t ChildDriver::cycles() const { return cycleCount(options_.run); }

int ChildDriver::startCycle(std::size_t index) {
  finished_ = false;
  exitedAt_.reset();
  proto::Job job;
  job.runId = runId_ = "local-" + std::to_string(::getpid()) + "-" + std::to_string(index + 1);
  job.libraryName = std::filesystem::path(library_).filename().string();
  job.options = jobOptions(options_, index, kScheduleLead);
  job.resultsEndpoint = agent::kParentReadsRing;  // this master reads the slave's ring
  job.agentId = kAgentId;
  agent::RingedSlaveOptions ringed;
  // One slave on this machine: raw events, so the live figures follow each call and the
  // slave folds nothing (summaries are for fleets: --results, distributed runs only).
  for (std::string& arg : job.options.args) {
    if (arg.rfind("results=", 0) == 0) arg = "results=raw";
  }
  // The same loads version: the newest user mix, and the data files where they are.
  job.options.userMix = proto::kUserMix;
  job.options.params = options_.run.params;
  ringed.argv = agent::slaveCommandLine(slaveBinary_, library_, job, options_.run.files);
  ringed.threads = job.options.threads;
  try {
    slave_ = std::make_unique<agent::RingedSlave>(std::move(ringed));  // no forwarder
    reader_ = std::make_unique<RingReader>(slave_->ring().share(), result_);
  } catch (const std::exception& e) {
    std::cerr << "loads-master: cannot start " << slaveBinary_ << ": " << e.what() << std::endl;
    return 3;
  }
  reader_->start();
  const auto now = SteadyClock::now();
  if (index == 0) startedAt_ = std::chrono::system_clock::now();
  cycleStartTicks_ = now.time_since_epoch().count();
  if (options_.run.rate || options_.run.userStages) {
    const RunOptions runOptions = options_.run;
    const std::int64_t zeroUs = job.options.startAtUs;
    result_.setTarget(scheduleKind(runOptions), [runOptions, zeroUs](std::int64_t epochUs) {
      return scheduleTarget(runOptions, Micros(std::max<std::int64_t>(0, epochUs - zeroUs)));
    });
  }
  return 0;
}

// Whether the slave has ended; then what it published is read to the end.
void ChildDriver::advance() {
  if (finished_ || !slave_) return;
  if (!exitedAt_) {
    auto exit = slave_->poll();
    if (!exit) return;
    exitedAt_ = Clock::now();
    if (const auto& crash = slave_->crash()) {
      crashes_.push_back(*crash);
      std::cerr << "\nloads-master: the test code crashed its slave: " << crash->description
                << std::endl;
    } else if (exit->signal != 0 || exit->exitCode != 0) {
      problems_.push_back("the slave running the tests " + exit->reason);
      std::cerr << "\nloads-master: " << problems_.back() << std::endl;
    }
  }
  endCycle();
}

std::optional<std::chrono::milliseconds> ChildDriver::pollInterval() const { return 20ms; }

void ChildDriver::endCycle() {
  if (finished_) return;
  finished_ = true;
  reader_->finish();  // the slave is gone: everything it published is replayed now
  const std::uint64_t recorded = reader_->events() + reader_->tooLarge();
  if (!slave_->ring().taken()) {  // a runner that does not record into the ring sent nothing
    problems_.push_back("the slave never took its event ring (" + slaveBinary_ +
                        " must be a loads-slave of this version): it recorded nothing");
  } else if (reader_->replayed() != recorded) {
    problems_.push_back("the slave recorded " + formatCount(recorded) + " events, " +
                        formatCount(reader_->replayed()) + " could be read");
  }
  reader_.reset();
  slave_.reset();
  waiter_.notifyDone();
}

void ChildDriver::requestStop(StopKind kind) {
  if (!slave_ || exitedAt_) return;
  if (kind == StopKind::kHard) {
    ::kill(slave_->process().pid(), SIGTERM);  // the slave's second stop cancels its hits
    return;
  }
  std::cerr << "\nloads-master: stopping; hits in flight get "
            << options_.run.stopTimeout.count() / 1000.0
            << " s to finish (Ctrl-C again to cancel them now)" << std::endl;
  stopping_ = true;
  slave_->process().stop(
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.run.stopTimeout + kStopGrace));
}

CycleTime ChildDriver::clock() const {
  CycleTime time;
  const SteadyClock::rep ticks = cycleStartTicks_;
  if (ticks == 0) return time;
  const SteadyClock::time_point start{SteadyClock::duration(ticks)};
  time.elapsed = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  if (options_.run.duration) {
    time.remaining = std::max(std::chrono::microseconds(0),
                              std::chrono::microseconds(*options_.run.duration) - time.elapsed);
  }
  time.stopping = stopping_;
  return time;
}

void ChildDriver::wrapUp() {
  if (slave_ && !finished_) {  // the loop ended early: end the slave, keep what it recorded
    if (!exitedAt_ && !slave_->process().stopping()) {
      slave_->process().stop(std::chrono::duration_cast<std::chrono::milliseconds>(
          options_.run.stopTimeout + kStopGrace));
    }
    while (!finished_) {
      advance();
      if (!finished_) std::this_thread::sleep_for(20ms);  // polls the slave's exit
    }
  }
}

RunEnding ChildDriver::end(const Snapshot& snapshot) {
  explainUnreachable(snapshot, options_.run.user.serverUrl);
  for (const auto& crash : crashes_) {
    std::cerr << "\nCrash: the slave was " << crash.description << "\n"
              << agent::formatFrames(crash, "  ");
  }
  for (const auto& p : problems_) std::cerr << "loads-master: " << p << std::endl;
  RunEnding ending;
  if (!problems_.empty() || !crashes_.empty()) ending.code = kInfraError;
  for (const auto& crash : crashes_) ending.crashes.push_back(crashFacts(crash, ""));
  ending.tests = tests_;
  ending.startedAt = startedAt_;
  return ending;
}

}  // namespace loads::master
