// MasterOptions: everything loads-master was asked to do, parsed from its command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "master/web_dashboard.hpp"
#include "report/thresholds.hpp"
#include "run/runner.hpp"
#include "security/curve.hpp"
#include "util/metrics_server.hpp"
#include "util/parse.hpp"

namespace loads::master {

struct MasterOptions {
  std::string library;             // positional: the test library (.so)
  std::vector<std::string> tests;  // --test Class.method (repeatable); default: all
  bool list = false;               // --list: print the tests and exit
  RunOptions run;                  // load shape and user settings
  std::string jsonFile;            // --json FILE; default: none
  bool quiet = false;              // --quiet: no live status line
  std::string usersText = "1";     // -u as typed, for the report
  std::string hitsText;            // --hits as typed, for the report
  std::size_t maxNames = 1000;     // --max-names N: distinct request names kept (1,000)
  bool inProcess = false;          // --in-process: run the tests in this process, not a child

  // Reports and thresholds (docs/thresholds.md, README "Reports and thresholds").
  std::string htmlFile;               // --html FILE; default: none
  std::string csvPrefix;              // --csv PREFIX: PREFIX_requests/_seconds.csv; none
  std::string junitFile;              // --junit FILE; default: none
  std::string reportFile;             // --report FILE: render a saved JSON, no run; none
  std::vector<Threshold> thresholds;  // --threshold EXPR (repeatable); default none
  bool abortOnFail = false;           // --abort-on-fail: stop once a threshold cannot pass

  // --web [HOST:]PORT: the live dashboard (README "Live web dashboard"); none. HOST
  // defaults to 127.0.0.1; PORT 0 is an ephemeral port.
  std::optional<WebAddress> web;
  // --metrics [HOST:]PORT: /metrics alone, without the dashboard (docs/metrics.md); none.
  // The --web port serves /metrics too.
  std::optional<ListenAddress> metrics;
  // --linger D: after the run, /metrics keeps serving the final values until a scrape
  // has read them, Ctrl-C, or D passed. Default: 5 s with --metrics; 0 with --web alone
  // (a dashboard user is not kept waiting for a scraper that may not exist).
  std::optional<std::chrono::milliseconds> linger;

  // Distributed mode (docs/distributed.md); local mode when agents == 0 and no command.
  std::uint32_t agents = 0;                       // --agents N; 0 = run here
  std::string broker = "tcp://127.0.0.1:7780";    // --broker: the broker's frontend
  std::chrono::milliseconds waitAgents{0};        // --wait-agents: wait for idle agents; 0
  std::string resultsBind = "tcp://127.0.0.1:*";  // --results-bind: the PULL socket; ephemeral
  std::string resultsAddress;                     // --results-address: what agents connect to; ""
  bool rebalance = false;                         // --rebalance: re-split a lost agent's share
  std::string results = "summary";                // --results raw|summary: what slaves send
  bool ping = false;                              // --ping: show the broker's state
  bool pingAgents = false;                        // --ping --agents: and list every agent
  std::string stopRun;                            // --stop RUN: stop that run; ""
  bool purge = false;                             // --purge: stop every run
  security::KeyPair key;                          // --key: CURVE to the broker and on results; none
  std::string brokerKey;                          // --broker-key: the broker's public key; ""
  bool distributed() const { return agents > 0 || ping || purge || !stopRun.empty(); }
};

// Parses argv (util/parse.hpp's ParseResult: the options, or the exit code to end with).
using ParseResult = loads::ParseResult<MasterOptions>;
ParseResult parseOptions(int argc, const char* const* argv);

}  // namespace loads::master
