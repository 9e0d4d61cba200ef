// The slave runner: the child process an agent (or the local master) starts for one job.
// It loads the test library, runs the same Runner as local mode with this agent's share
// of the users, and records every TestResult call into the parent's EventRing
// (--ring-fd, RingRecorder), which the parent forwards to the master: the events survive
// a crash of the test code, and the crash handler leaves the parent a crash record.
// Without --ring-fd it streams to the master itself through a TestResultProxy.
//
// SIGTERM or SIGINT stops the run (runner.stop(): hits in flight get the stop timeout);
// a second one cancels them. Results are flushed either way.
//
// The agent's commands arrive on the control channel (--control-fd, SlaveProcess), one
// line each; the only one is "rebalance INDEX COUNT FROM-MS" (REBALANCE, PROTOCOL.md
// §5.1). Unknown or bad lines are logged and ignored.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.hpp"
#include "run/runner.hpp"

namespace loads::agent {

struct SlaveOptions {
  std::string library;          // path of the test library (from the agent's cache); required
  std::string runId;            // the run; required
  std::string agentId;          // the agent; required
  std::string resultsEndpoint;  // the master's PULL socket; required
  std::uint32_t index = 0;      // this agent's index in the run (0)
  std::uint32_t count = 1;      // agents in the run (1)
  proto::JobOptions job;        // the run's options (users is the total over all agents)
  int controlFd = -1;           // the agent's control channel; -1 = none
  int ringFd = -1;  // the parent's EventRing: events go there, not to resultsEndpoint; -1 = none
  proto::ResultsCurve resultsCurve;          // CURVE to the results socket; all "" = plain TCP
  std::map<std::string, std::string> files;  // the job's data files: name → cached path; none
};

// "key=value" strings as a map (--param, --file); a string without '=' is a key with "".
std::map<std::string, std::string> splitPairs(const std::vector<std::string>& pairs);

// The environment variable that carries the run key's secret from agent to slave
// (PROTOCOL.md §9.3): a command line is readable by every local user, an environment not.
inline constexpr const char* kResultsSecretVariable = "LOADS_RESULTS_CLIENT_SECRET";

// Exit codes of the slave process, reported by the agent in JOB-ENDED.
inline constexpr int kSlaveOk = 0;
inline constexpr int kSlaveConfigError = 2;  // library or test selection unusable
// Results could not be handed to the master (a TestResultProxy's; a ring's stream that
// did not leave whole is ended by the parent, and the slave exits kSlaveOk).
inline constexpr int kSlaveNotDelivered = 3;

// The runner's new share from a "rebalance INDEX COUNT FROM-MS" line; nullopt for a
// line that is not one (count 0, index >= count, not numbers).
std::optional<Resplit> parseRebalance(const std::string& line, const proto::JobOptions& job);
// The line the agent sends for a REBALANCE giving it `index`.
std::string rebalanceLine(std::uint32_t index, const proto::Rebalance& rebalance);

// The command line of `binary` for `job` (PROTOCOL.md §10), `libraryPath` its library,
// `files` its data files (name → path: --file), the job's params as --param.
std::vector<std::string> slaveCommandLine(const std::string& binary, const std::string& libraryPath,
                                          const proto::Job& job,
                                          const std::map<std::string, std::string>& files = {});

// Splits JobOptions::tests ("Class.method,Class2") into names for TestLibrary::select.
std::vector<std::string> splitTests(const std::string& tests);

// Runs the job to its end; returns the process exit code. Blocks SIGTERM/SIGINT in the
// calling thread (call it from main before any thread starts).
int runSlave(const SlaveOptions& options);

}  // namespace loads::agent
