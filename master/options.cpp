#include "master/options.hpp"

#include <CLI/CLI.hpp>
#include <iostream>

#include "client/url.hpp"
#include "loads/version.hpp"
#include "master/config_file.hpp"
#include "master/data_options.hpp"
#include "master/report_files.hpp"
#include "run/runner.hpp"
#include "security/cli.hpp"
#include "util/parse.hpp"

namespace loads::master {
namespace {

// The load shape asked for by --rate, --rate-stages, --max-users and --stages (issue 4):
// the open model, or the closed model with stages; plain -u/--hits/-d cycles otherwise.
struct LoadShapeText {
  double rate = 0;
  std::string rateStages, stages;
  std::uint32_t maxUsers = 0;
  bool usersGiven = false, hitsGiven = false, rampGiven = false;
};

void applyLoadShape(const LoadShapeText& t, RunOptions& run) {
  const bool open = t.rate > 0 || !t.rateStages.empty();
  if (!open && t.maxUsers > 0)
    throw std::invalid_argument("--max-users needs --rate or --rate-stages");
  if (!open && t.stages.empty()) return;
  if (open && !t.stages.empty()) {
    throw std::invalid_argument(
        "--stages (users) and --rate (hits/s) exclude each other: use "
        "--rate-stages for a changing rate");
  }
  const std::string what = open ? "--rate" : "--stages";
  if (t.usersGiven && open)
    throw std::invalid_argument(what + " sizes the pool with --max-users, not -u");
  if (t.usersGiven) throw std::invalid_argument("--stages sets the users over time: drop -u");
  if (t.hitsGiven || t.rampGiven)
    throw std::invalid_argument(what + " cannot be combined with --hits or --ramp");
  const std::string& stagesText = open ? t.rateStages : t.stages;
  if (!stagesText.empty() && run.duration) {
    throw std::invalid_argument("the stages set the run's length: drop -d");
  }
  if (stagesText.empty() && !run.duration) {
    throw std::invalid_argument("--rate needs -d (how long to keep the rate) or --rate-stages");
  }
  if (open) {
    run.rate = t.rateStages.empty()
                   ? StageProfile::constant(t.rate, *run.duration)
                   : StageProfile(t.rate, parseStages(t.rateStages, "--rate-stages"));
    run.maxUsers = t.maxUsers ? t.maxUsers : 100;
  } else {
    run.userStages = StageProfile(0, parseStages(t.stages, "--stages"));
  }
  run.duration.reset();
}

// A bare --agents (no number follows) is --ping's "list every agent"; CLI11 would want the
// number of a run's agents, so it is taken out first. The rest is returned reversed, as
// CLI11's parse(vector) takes it.
std::vector<std::string> takeBareAgents(int argc, const char* const* argv, bool& bare) {
  std::vector<std::string> args;
  for (int i = argc - 1; i >= 1; --i) {
    const std::string arg = argv[i];
    if (arg == "--agents" && (i + 1 >= argc || argv[i + 1][0] == '-')) {
      bare = true;
      continue;
    }
    args.push_back(arg);
  }
  return args;
}

}  // namespace

ParseResult parseOptions(int argc, const char* const* argv) {
  CLI::App app{"loads-master: run a loads test library, here or on a fleet of agents.",
               "loads-master"};
  app.set_version_flag("--version", LOADS_VERSION);
  app.get_formatter()->column_width(34);
  MasterOptions o;
  std::string duration, ramp, stopTimeout = "5s", timeout = "30s";

  app.add_option("library", o.library, "Test library (.so) built with loads_add_test_library");
  app.add_option("--test", o.tests,
                 "Test to run, Class.method or Class, with :W to weigh it W (repeatable); "
                 "default: every test, users dealt to them round-robin by weight")
      ->allow_extra_args(false);
  app.add_flag("--list", o.list, "List the tests in the library and exit");
  app.add_option("-u,--users", o.usersText,
                 "Virtual users, or cycles run one after the other: 10:20:30 (default 1)");
  app.add_option("--hits", o.hitsText,
                 "Hits per user, or cycles: 5:10 (default: until --duration ends, or 1)");
  app.add_option("-d,--duration", duration, "Length of each cycle: 90s, 5m, 1h30m");
  app.add_option("--ramp", ramp, "Spread user starts over this time (default 0: all at once)");
  LoadShapeText shape;
  app.add_option("--rate", shape.rate,
                 "Open model: start R hits/s (total over all agents) on a fixed schedule, "
                 "latency also measured from each hit's planned start")
      ->check(CLI::PositiveNumber);
  app.add_option("--max-users", shape.maxUsers,
                 "Open model: users free to take planned hits (default 100); a hit with no "
                 "free user is dropped and reported")
      ->check(CLI::PositiveNumber);
  app.add_option("--rate-stages", shape.rateStages,
                 "Open model: linear ramps of the rate, 1m:500,5m:2000 (from --rate, or 0)");
  app.add_option("--stages", shape.stages,
                 "Closed model: linear ramps of the users, 30s:100,2m:100,30s:0 (from 0)");
  app.add_option("-t,--threads", o.run.threads, "Runner threads (default: one per core)")
      ->check(CLI::PositiveNumber);
  app.add_option("--stop-timeout", stopTimeout,
                 "Grace given to hits in flight when the run stops, before they are cancelled "
                 "(default 5s)");
  app.add_option("--server-url", o.run.user.serverUrl,
                 "Base URL of the system under test, returned by serverUrl() in tests");
  app.add_flag("-k,--insecure-skip-tls-verify", o.run.user.insecure,
               "Do not verify TLS certificates");
  app.add_option("--timeout", timeout, "Default timeout of each request (default 30s)");
  app.add_option("--json", o.jsonFile, "Write the full report as JSON to this file");
  app.add_option("--max-names", o.maxNames,
                 "Distinct request names kept (default 1000); the requests of further names "
                 "are counted as (other)");
  app.add_flag("-q,--quiet", o.quiet, "No live status line");
  app.add_flag("--in-process", o.inProcess,
               "Run the test code in this process (for gdb), not in a child loads-slave that a "
               "crash cannot take the master down with");
  std::vector<std::string> thresholds;
  app.add_option("--html", o.htmlFile,
                 "Write a self-contained HTML report (charts, tables) to this file");
  app.add_option("--csv", o.csvPrefix, "Write PREFIX_requests.csv and PREFIX_seconds.csv");
  app.add_option("--junit", o.junitFile,
                 "Write JUnit XML (one testcase per test and per threshold)");
  app.add_option("--report", o.reportFile,
                 "Render --html/--csv/--junit from this saved --json report instead of running");
  app.add_option("--threshold", thresholds,
                 "Pass/fail criterion, e.g. 'http_req_duration:p(99)<250ms' (repeatable; a "
                 "failed one exits 99; see docs/thresholds.md)")
      ->allow_extra_args(false);
  app.add_flag("--abort-on-fail", o.abortOnFail,
               "Stop the run as soon as a threshold can no longer pass");
  std::string web;
  app.add_option("--web", web,
                 "Serve a live dashboard (charts, tables, Stop button) on [HOST:]PORT; HOST "
                 "defaults to 127.0.0.1 (0.0.0.0 opens it to the network), PORT 0 picks a free "
                 "port; the URL is printed as 'dashboard: URL'");
  std::string metrics, linger;
  app.add_option("--metrics", metrics,
                 "Serve /metrics (OpenMetrics, for Prometheus) on [HOST:]PORT without the "
                 "dashboard; --web serves it too (see docs/metrics.md)");
  app.add_option("--linger", linger,
                 "After the run, keep serving /metrics until a scrape read the final values, "
                 "Ctrl-C, or this long (default 5s with --metrics, 0 with --web alone)");
  std::string waitAgents;
  app.add_option("--agents", o.agents, "Run on N agents of a loads-broker (-u is the total)")
      ->check(CLI::Range(1u, 10000u));
  app.add_option("--broker", o.broker, "The broker's frontend (default tcp://127.0.0.1:7780)");
  app.add_option("--wait-agents", waitAgents, "Wait this long for enough idle agents (default 0)");
  app.add_option("--results-bind", o.resultsBind,
                 "Where to receive results (default tcp://127.0.0.1:*, an ephemeral port)");
  app.add_option("--results-address", o.resultsAddress,
                 "Results endpoint agents connect to, for NAT or several interfaces");
  app.add_option("--results", o.results,
                 "What each agent's slave sends: summary (per-interval summaries, exact and "
                 "light on the master; the default) or raw (every call as an event; the "
                 "master's live figures follow each call). A local run always sends raw")
      ->check(CLI::IsMember({"raw", "summary"}));
  app.add_flag("--rebalance", o.rebalance,
               "With --agents: when an agent is lost mid-run, re-split what is left of the run "
               "over the others so the total stays the one asked for");
  security::ClientKeyFiles keys;
  keys.addOptions(app);
  app.add_flag("--ping", o.ping,
               "Show the broker's agents (counts by state; with a bare --agents, one line "
               "each) and runs, and exit");
  app.add_option("--stop", o.stopRun, "Stop the run RUN on its agents, and exit");
  app.add_flag("--purge", o.purge, "Stop every run on the broker, and exit");
  // Test data and config files (issue 16, docs/data.md, docs/config.md).
  DataOptionsText data;
  addDataOptions(app, data);
  addConfigFileOption(app);
  app.footer(
      "Exit codes: 0 success, 1 test failures or errors, 2 usage or configuration error,\n"
      "3 infrastructure error, 99 a threshold failed.");

  ParseResult result;
  try {
    std::vector<std::string> args = takeBareAgents(argc, argv, o.pingAgents);
    app.parse(args);
    if (o.pingAgents && !o.ping) {
      throw std::invalid_argument(
          "--agents needs a number (--agents N), or --ping to list the agents");
    }
    if (!waitAgents.empty()) o.waitAgents = parseDuration(waitAgents);
    if (!web.empty()) o.web = parseWebAddress(web);
    if (!metrics.empty()) o.metrics = parseListenAddress(metrics, "--metrics");
    if (!linger.empty()) o.linger = parseDuration(linger);
    const bool command = o.ping || o.purge || !o.stopRun.empty();
    checkReportOptions(o, thresholds);
    if (o.rebalance && o.agents == 0) {
      throw std::invalid_argument(
          "--rebalance shares a lost agent's load among the others: it needs --agents");
    }
    if (o.distributed()) keys.load("loads-master", o.broker, o.key, o.brokerKey);
    if (o.agents > 0) {
      security::requireKeysUnlessLoopback("loads-master", "bind", o.resultsBind, !o.key.empty(),
                                          keys.insecure);
    }
    if (o.library.empty() && !command && o.reportFile.empty()) {
      throw CLI::ValidationError("a test library is required: loads-master path/to/libtests.so");
    }
    if (!o.run.user.serverUrl.empty()) {
      // Every request (and createWs path) of the run is resolved against it: refuse it
      // here, before any agent is asked for, rather than fail every request.
      if (auto problem = detail::serverUrlProblem(o.run.user.serverUrl); !problem.empty()) {
        throw std::invalid_argument("--server-url '" + o.run.user.serverUrl + "' is not usable: " +
                                    problem + " (e.g. http://127.0.0.1:8080)");
      }
    }
    std::vector<std::uint64_t> users = parseCycles(o.usersText, "--users");
    o.run.userCycles.assign(users.begin(), users.end());
    if (!o.hitsText.empty()) o.run.hitCycles = parseCycles(o.hitsText, "--hits");
    if (!duration.empty()) o.run.duration = parseDuration(duration);
    if (!ramp.empty()) o.run.ramp = parseDuration(ramp);
    shape.usersGiven = app.count("--users") > 0;
    shape.hitsGiven = !o.hitsText.empty();
    shape.rampGiven = !ramp.empty();
    applyLoadShape(shape, o.run);
    applyDataOptions(data, o.run);
    o.run.stopTimeout = parseDuration(stopTimeout);
    o.run.user.requestTimeout = parseDuration(timeout);
    if (o.run.duration && o.run.duration->count() == 0) {
      throw std::invalid_argument("--duration must be longer than 0s");
    }
    if (o.maxNames == 0) {
      throw std::invalid_argument("--max-names must be at least 1");
    }
    runnerPolicy();  // LOADS_RUNNER_POLICY, which the child slave reads: refused here
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return result;
  } catch (const CLI::CallForVersion&) {
    std::cout << LOADS_VERSION << std::endl;
    return result;
  } catch (const CLI::ParseError& e) {
    std::cerr << "loads-master: " << e.what() << " (see loads-master --help)" << std::endl;
    result.exitCode = 2;
    return result;
  } catch (const std::invalid_argument& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    result.exitCode = 2;
    return result;
  }
  result.options = std::move(o);
  return result;
}

}  // namespace loads::master
