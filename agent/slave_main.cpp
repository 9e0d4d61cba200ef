// loads-slave: the slave runner process an agent starts for one job (one per job, so a
// crashing test library takes down only this process). Started by loads-agent, not by
// hand; its options mirror the fields of a JOB (PROTOCOL.md §5.2).
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "agent/slave_runner.hpp"

int main(int argc, char** argv) {
  loads::agent::SlaveOptions o;
  CLI::App app{"loads-slave: runs one job of a loads agent and streams its results"};
  app.add_option("--library", o.library, "test library")->required();
  app.add_option("--run-id", o.runId, "run id")->required();
  app.add_option("--agent-id", o.agentId, "agent id")->required();
  app.add_option("--results", o.resultsEndpoint, "master's results endpoint")->required();
  app.add_option("--index", o.index, "this agent's index in the run");
  app.add_option("--count", o.count, "agents in the run")->check(CLI::PositiveNumber);
  app.add_option("--tests", o.job.tests, "test selection, comma separated");
  app.add_option("--users", o.job.users, "total users over all agents");
  app.add_option("--hits", o.job.hits, "hits per user");
  app.add_option("--duration-ms", o.job.durationMs, "duration per user");
  app.add_option("--server-url", o.job.serverUrl, "server url");
  app.add_option("--threads", o.job.threads, "runner threads");
  app.add_option("--arg", o.job.args, "further runner option name=value (repeatable)");
  std::vector<std::string> params, files;
  app.add_option("--param", params, "run parameter key=value, for config() (repeatable)");
  app.add_option("--file", files, "data file name=path, for dataFile() (repeatable)");
  app.add_option("--rate-stages", o.job.rateStages, "open model: rate stages, ms:target,...");
  app.add_option("--rate-start", o.job.rateStart, "open model: the rate at time 0");
  app.add_option("--max-users", o.job.maxUsers, "open model: user pool, total");
  app.add_option("--stages", o.job.userStages, "closed model: user stages, ms:target,...");
  app.add_option("--start-at-us", o.job.startAtUs, "the schedule's time 0, µs since the epoch");
  app.add_option("--control-fd", o.controlFd, "the agent's control channel (a file descriptor)");
  app.add_option("--ring-fd", o.ringFd, "the parent's event ring (a file descriptor)");
  app.add_option("--results-server-key", o.resultsCurve.serverKey,
                 "the master's results key (Z85)");
  app.add_option(
      "--results-client-key", o.resultsCurve.clientPublic,
      "the run key's public key (Z85); its secret comes in $LOADS_RESULTS_CLIENT_SECRET");
  try {
    app.parse(argc, argv);
    o.job.params = loads::agent::splitPairs(params);
    o.files = loads::agent::splitPairs(files);
    if (const char* secret = std::getenv(loads::agent::kResultsSecretVariable)) {
      o.resultsCurve.clientSecret = secret;
      ::unsetenv(loads::agent::kResultsSecretVariable);  // the test library has no use for it
    }
    if (o.resultsCurve.serverKey.empty() != o.resultsCurve.clientSecret.empty()) {
      std::cerr << "loads-slave: --results-server-key needs the secret in $"
                << loads::agent::kResultsSecretVariable << std::endl;
      return 2;
    }
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    return loads::agent::runSlave(o);
  } catch (const std::exception& e) {
    std::cerr << "loads-slave: " << e.what() << std::endl;
    return 3;
  }
}
