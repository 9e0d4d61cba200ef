#include "agent/slave_runner.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <ctime>
#include <iostream>
#include <sstream>
#include <thread>

#include "agent/crash_handler.hpp"
#include "agent/event_ring.hpp"
#include "agent/ring_forwarder.hpp"
#include "agent/ring_recorder.hpp"
#include "agent/slave_process.hpp"
#include "agent/test_result_proxy.hpp"
#include "run/runner.hpp"
#include "run/test_library.hpp"
#include "util/parse.hpp"

namespace loads::agent {
namespace {

// JobOptions::args: "name=value" runner settings beyond the fixed fields (PROTOCOL.md
// §5.1). Unknown names are ignored with a warning, so older agents run newer masters' jobs.
void applyArgs(const std::vector<std::string>& args, RunOptions& run) {
  for (const std::string& arg : args) {
    const auto eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    try {
      if (name == "ramp-ms") {
        run.ramp = std::chrono::milliseconds(std::stoull(value));
      } else if (name == "stop-timeout-ms") {
        run.stopTimeout = std::chrono::milliseconds(std::stoull(value));
      } else if (name == "timeout-ms") {
        run.user.requestTimeout = std::chrono::milliseconds(std::stoull(value));
      } else if (name == "insecure") {
        run.user.insecure = value != "false";
      } else if (name == "results") {
        // raw|summary: the proxy's (summariesAsked)
      } else {
        std::cerr << "loads-slave: ignoring unknown job option " << arg << std::endl;
      }
    } catch (const std::exception&) {
      std::cerr << "loads-slave: ignoring job option with a bad value: " << arg << std::endl;
    }
  }
}

RunOptions runOptionsFor(const SlaveOptions& o, std::uint32_t users) {
  RunOptions run;
  run.userCycles = {users};
  if (o.job.hits > 0) run.hitCycles = {o.job.hits};
  if (o.job.durationMs > 0) run.duration = std::chrono::milliseconds(o.job.durationMs);
  run.threads = o.job.threads;
  run.user.serverUrl = o.job.serverUrl;
  applyArgs(o.job.args, run);
  run.params = o.job.params;
  run.files = o.files;
  // This agent's share of the run's users and of the master's one schedule: user k of
  // the run is agent (k mod count)'s (docs/distributed.md).
  run.shareIndex = o.index;
  run.shareCount = o.count;
  run.runUsers = o.job.users;
  if (o.job.startAtUs > 0) {
    run.startAt = std::chrono::system_clock::time_point(std::chrono::microseconds(o.job.startAtUs));
  }
  if (!o.job.rateStages.empty()) {
    run.rate = StageProfile(o.job.rateStart, parseStages(o.job.rateStages, "rate-stages"));
    run.maxUsers = proto::usersForAgent(o.job.maxUsers, o.index, o.count);
    run.runUsers = o.job.maxUsers;
    run.duration.reset();
  } else if (!o.job.userStages.empty()) {
    run.userStages = StageProfile(0, parseStages(o.job.userStages, "stages"));
    run.runUsers = UserTargetSchedule(*run.userStages, 0, 1).max();
    run.duration.reset();
  }
  return run;
}

sigset_t stopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

// The agent's end of the control channel, read without blocking between signal checks.
class ControlReader {
 public:
  explicit ControlReader(int fd) : fd_(fd) {}
  // Complete lines that arrived since the last call.
  std::vector<std::string> lines() {
    std::vector<std::string> out;
    pollfd item{fd_, POLLIN, 0};
    while (fd_ >= 0 && ::poll(&item, 1, 0) == 1) {
      char chunk[4096];
      const ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) {  // the agent is gone (PR_SET_PDEATHSIG stops this slave)
        fd_ = -1;
        break;
      }
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
    for (std::size_t end; (end = buffer_.find('\n')) != std::string::npos;) {
      out.push_back(buffer_.substr(0, end));
      buffer_.erase(0, end + 1);
    }
    return out;
  }

 private:
  int fd_;
  std::string buffer_;
};

// Runs `runner` on a thread; this thread takes SIGTERM/SIGINT (first stop, then cancel)
// and the agent's commands.
void runWithSignals(Runner& runner, const SlaveOptions& options) {
  std::atomic<bool> done{false};
  std::thread thread([&] {
    runner.run();
    done = true;
  });
  const sigset_t set = stopSignals();
  ControlReader control(options.controlFd);
  int signals = 0;
  while (!done) {
    timespec tick{0, 10'000'000};  // how soon a finished run is noticed: short runs wait for it
    const int sig = sigtimedwait(&set, nullptr, &tick);
    if (sig == SIGTERM || sig == SIGINT) {
      if (++signals == 1) {
        runner.stop();
      } else {
        runner.cancel();
      }
    }
    for (const std::string& line : control.lines()) {
      if (auto resplit = parseRebalance(line, options.job)) {
        std::cerr << "loads-slave: rebalanced: share " << resplit->index + 1 << " of "
                  << resplit->count << " from " << resplit->from.count() / 1000 << " ms"
                  << std::endl;
        runner.rebalance(*resplit);
      } else {
        std::cerr << "loads-slave: ignoring control line '" << line << "'" << std::endl;
      }
    }
  }
  thread.join();
}

}  // namespace

namespace {

std::string hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(text.data() + i, text.data() + i + 2, value, 16);
    if (ec != std::errc() || end != text.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(value));
  }
  return out;
}

// "rows K" then per run "SHARE OFFSET STRIDE M" and M "HEX-FEED SHIFT" pairs.
bool parseRows(std::istringstream& in, std::vector<RowRun>& rows) {
  std::string word;
  std::size_t runs = 0;
  if (!(in >> word >> runs) || word != "rows" || runs > proto::kMaxRowsRuns) return false;
  for (std::size_t i = 0; i < runs; ++i) {
    RowRun run;
    std::size_t shifts = 0;
    if (!(in >> run.share >> run.offset >> run.stride >> shifts) || run.stride == 0 ||
        shifts > proto::kMaxFeedShifts) {
      return false;
    }
    for (std::size_t j = 0; j < shifts; ++j) {
      std::string feed;
      std::uint64_t shift = 0;
      if (!(in >> feed >> shift)) return false;
      auto name = unhex(feed);
      if (!name) return false;
      run.shift[*name] = shift;
    }
    rows.push_back(std::move(run));
  }
  return true;
}

}  // namespace

std::optional<Resplit> parseRebalance(const std::string& line, const proto::JobOptions& job) {
  std::istringstream in(line);
  std::string word;
  std::uint32_t index = 0, count = 0;
  std::uint64_t fromMs = 0;
  if (!(in >> word >> index >> count >> fromMs) || word != "rebalance" || count == 0 ||
      index >= count) {
    return std::nullopt;
  }
  Resplit resplit;
  if (!(in >> std::ws).eof() && !parseRows(in, resplit.rows)) return std::nullopt;
  if (!(in >> std::ws).eof()) return std::nullopt;
  resplit.index = index;
  resplit.count = count;
  resplit.from = std::chrono::milliseconds(fromMs);
  resplit.users =
      proto::usersForAgent(job.rateStages.empty() ? job.users : job.maxUsers, index, count);
  return resplit;
}

std::string rebalanceLine(std::uint32_t index, const proto::Rebalance& rebalance) {
  std::string line = "rebalance " + std::to_string(index) + " " + std::to_string(rebalance.count) +
                     " " + std::to_string(rebalance.fromMs);
  if (rebalance.rows.empty()) return line;
  line += " rows " + std::to_string(rebalance.rows.size());
  for (const proto::RowsRun& run : rebalance.rows) {
    line += " " + std::to_string(run.share) + " " + std::to_string(run.offset) + " " +
            std::to_string(run.stride) + " " + std::to_string(run.shifts.size());
    for (const proto::FeedShift& s : run.shifts) {
      line += " " + hex(s.feed) + " " + std::to_string(s.shift);
    }
  }
  return line;
}

std::vector<std::string> slaveCommandLine(const std::string& binary, const std::string& libraryPath,
                                          const proto::Job& job,
                                          const std::map<std::string, std::string>& files) {
  const proto::JobOptions& o = job.options;
  std::vector<std::string> argv = {binary,
                                   "--library",
                                   libraryPath,
                                   "--run-id",
                                   job.runId,
                                   "--agent-id",
                                   job.agentId,
                                   "--results",
                                   job.resultsEndpoint,
                                   "--index",
                                   std::to_string(job.index),
                                   "--count",
                                   std::to_string(std::max(1u, job.count)),
                                   "--users",
                                   std::to_string(o.users),
                                   "--hits",
                                   std::to_string(o.hits),
                                   "--duration-ms",
                                   std::to_string(o.durationMs),
                                   "--threads",
                                   std::to_string(o.threads),
                                   "--control-fd",
                                   std::to_string(kControlFd)};
  if (!o.tests.empty()) argv.insert(argv.end(), {"--tests", o.tests});
  if (!o.serverUrl.empty()) argv.insert(argv.end(), {"--server-url", o.serverUrl});
  for (const auto& arg : o.args) argv.insert(argv.end(), {"--arg", arg});
  for (const auto& [key, value] : o.params) argv.insert(argv.end(), {"--param", key + "=" + value});
  for (const auto& [name, path] : files) argv.insert(argv.end(), {"--file", name + "=" + path});
  if (!o.rateStages.empty()) {
    argv.insert(argv.end(),
                {"--rate-stages", o.rateStages, "--rate-start", std::to_string(o.rateStart),
                 "--max-users", std::to_string(o.maxUsers)});
  }
  if (!o.userStages.empty()) argv.insert(argv.end(), {"--stages", o.userStages});
  if (o.startAtUs > 0) argv.insert(argv.end(), {"--start-at-us", std::to_string(o.startAtUs)});
  if (!job.resultsCurve.empty()) {  // its secret goes in the environment: argv is world-readable
    argv.insert(argv.end(), {"--results-server-key", job.resultsCurve.serverKey,
                             "--results-client-key", job.resultsCurve.clientPublic});
  }
  return argv;
}

std::map<std::string, std::string> splitPairs(const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const std::string& pair : pairs) {
    const auto eq = pair.find('=');
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
  }
  return out;
}

std::vector<std::string> splitTests(const std::string& tests) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (start <= tests.size()) {
    std::size_t comma = tests.find(',', start);
    if (comma == std::string::npos) comma = tests.size();
    if (comma > start) names.push_back(tests.substr(start, comma - start));
    start = comma + 1;
  }
  return names;
}

// When the agent dies, PR_SET_PDEATHSIG sends SIGTERM and the run stops as on a STOP; a
// test that never yields would keep the slave (and what it started) alive for ever with
// nobody left to SIGKILL it. This thread does it: the slave's group, a stop timeout and
// kOrphanGrace after the agent is gone.
constexpr std::chrono::seconds kOrphanGrace{5};

// results=summary among the job's args (--results summary, PROTOCOL.md §5.4).
bool summariesAsked(const std::vector<std::string>& args) {
  return std::find(args.begin(), args.end(), "results=summary") != args.end();
}

std::chrono::milliseconds stopTimeoutOf(const std::vector<std::string>& args) {
  RunOptions run;
  for (const std::string& arg : args) {
    if (arg.rfind("stop-timeout-ms=", 0) == 0) applyArgs({arg}, run);
  }
  return run.stopTimeout;
}

void killGroupWhenOrphaned(std::chrono::milliseconds stopTimeout) {
  const pid_t agent = ::getppid();
  std::thread([agent, stopTimeout] {
    while (::getppid() == agent) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::this_thread::sleep_for(stopTimeout + kOrphanGrace);
    std::cerr << "loads-slave: the agent is gone and the run did not stop within "
              << (stopTimeout + kOrphanGrace).count() << " ms: killing this slave's process group"
              << std::endl;
    ::kill(0, SIGKILL);
  }).detach();
}

int runSlave(const SlaveOptions& options) {
  const sigset_t set = stopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before any thread: only sigtimedwait sees them
  killGroupWhenOrphaned(stopTimeoutOf(options.job.args));

  // The recorder first: even a slave that cannot load its library ends with STOP-TEST-RUN
  // (sent by the parent from the ring, or by the proxy), so the master knows this agent is
  // done and sent nothing.
  std::unique_ptr<EventRing> ring;
  if (options.ringFd >= 0) {
    ring = EventRing::attach(options.ringFd);
    if (!ring) {
      std::cerr << "loads-slave: --ring-fd " << options.ringFd << " is no event ring" << std::endl;
      return kSlaveConfigError;
    }
    ring->take();
    installCrashHandler(*ring);
  } else if (options.resultsEndpoint == kParentReadsRing) {
    std::cerr << "loads-slave: --results " << kParentReadsRing << " needs --ring-fd" << std::endl;
    return kSlaveConfigError;
  }
  std::unique_ptr<TestResult> sink;
  TestResultProxy* proxy = nullptr;
  std::unique_ptr<RingForwarder> sender;
  if (ring) {
    sink = std::make_unique<RingRecorder>(*ring);
  }
  if (ring && options.resultsEndpoint != kParentReadsRing) {
    // This slave sends what it records itself (so it goes on when its agent is gone); what
    // it leaves when it dies, its parent sends (PROTOCOL.md §10). With --results ring its
    // parent (the local master) reads the ring itself, and nothing is sent.
    ForwarderOptions forward{options.resultsEndpoint, options.runId, options.agentId,
                             options.resultsCurve};
    forward.summaries = summariesAsked(options.job.args);
    sender = std::make_unique<RingForwarder>(forward, ring->share());
    sender->startLive();
  } else if (!ring) {
    ProxyOptions proxyOptions{options.resultsEndpoint, options.runId, options.agentId};
    proxyOptions.curve = options.resultsCurve;
    proxyOptions.summaries = summariesAsked(options.job.args);
    auto owned = std::make_unique<TestResultProxy>(proxyOptions);
    proxy = owned.get();
    sink = std::move(owned);
  }
  int code = kSlaveOk;
  try {
    if (options.job.userMix > proto::kUserMix) {
      throw LoadError("the master asks for user mix " + std::to_string(options.job.userMix) +
                      ", this loads-slave knows mix " + std::to_string(proto::kUserMix) +
                      " at most: run the same loads version on master and agents");
    }
    TestLibrary library = TestLibrary::load(options.library);
    if (ring) ring->recordModules();  // the parent names the frames of a crash with them
    std::vector<SelectedTest> tests = library.select(splitTests(options.job.tests));
    const std::uint32_t users =
        proto::usersForAgent(options.job.users, options.index, options.count);
    const bool scheduled = !options.job.rateStages.empty() || !options.job.userStages.empty();
    if (users > 0 || scheduled) {
      Runner runner(tests, runOptionsFor(options, users), *sink);
      runWithSignals(runner, options);
    }
  } catch (const LoadError& e) {
    std::cerr << "loads-slave: " << e.what() << std::endl;
    code = kSlaveConfigError;
  } catch (const std::invalid_argument& e) {  // stages from the job that do not parse
    std::cerr << "loads-slave: " << e.what() << std::endl;
    code = kSlaveConfigError;
  }
  // A stream the ring forwarder could not deliver whole, the parent ends (it resends the
  // retained batches): the master's counts say whether anything is missing.
  if (sender && !sender->finishLive()) {
    std::cerr << "loads-slave: results not all delivered to " << options.resultsEndpoint
              << " in time; the agent sends the last of them again" << std::endl;
  }
  const bool delivered = proxy ? proxy->finish().delivered : true;
  if (!delivered && code == kSlaveOk) {
    std::cerr << "loads-slave: results could not be delivered to " << options.resultsEndpoint
              << std::endl;
    code = kSlaveNotDelivered;
  }
  return code;
}

}  // namespace loads::agent
