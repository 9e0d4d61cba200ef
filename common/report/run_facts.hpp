// RunFacts: what the reports say about a run besides its statistics (the Snapshot): the
// library, tests and options, when it ran, how it ended, and in distributed mode the
// agents, the problems found and the rebalances. Plain values filled by the master;
// the JSON writer (report/json_output.hpp) is the only code that turns them into keys.
//
// Thread-safety: value types.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "report/thresholds.hpp"

namespace loads {

// The effective options of the run, typed as the JSON report writes them.
struct ReportOptions {
  std::vector<std::uint64_t> users;        // -u: users per cycle; default none
  std::vector<std::uint64_t> hits;         // --hits: hits per user per cycle; none = by duration
  std::optional<std::int64_t> durationMs;  // -d: per cycle; none = by hits
  std::int64_t rampMs = 0;                 // --ramp; default 0
  std::uint64_t threads = 0;               // -t: runner threads; 0 = one per core
  std::uint64_t maxNames = 0;              // --max-names: distinct request names kept; 0 = unsaid
  std::int64_t stopTimeoutMs = 0;          // --stop-timeout; default 0
  std::string serverUrl;                   // --server-url; default ""
  bool insecure = false;                   // --insecure-skip-tls-verify; default false
  std::int64_t timeoutMs = 0;              // --timeout: per request; default 0
  std::optional<double> rateStart;         // --rate/--rate-stages: hits/s at time 0; none
  std::string rateStages;                  // --rate-stages as "30s:100,1m:100"; "" = none
  std::optional<std::uint64_t> maxUsers;   // --max-users (open model only); none
  std::string stages;                      // --stages as "30s:10,1m:10"; "" = none
  std::optional<std::uint64_t> agents;     // --agents (distributed only); none
  std::string broker;                      // --broker (distributed only); "" = none
  std::map<std::string, std::string> params;  // --param key=value; none
  struct Include {
    std::string name;  // what dataFile() finds it by
    std::uint64_t bytes = 0;
    std::string sha256;  // of its bytes (the agents' cache key)
  };
  std::vector<Include> include;  // --include: the data files shipped; none
};

// How one agent of a distributed run ended, and what it sent.
struct AgentFacts {
  std::string id;                           // the agent's id
  std::string host;                         // its host name
  std::uint32_t index = 0;                  // its share's index: its source in requestsBySource
  std::string state;                        // "done", "lost" or "running"
  int exitCode = 0;                         // its slave's exit code; default 0
  int signal = 0;                           // the signal that ended its slave; 0 = none
  std::string reason;                       // how it ended, in words; default ""
  std::optional<std::uint64_t> eventsSent;  // as its slave's last message said; none = no word
  std::uint64_t eventsReceived = 0;         // events the master received from it
  std::uint64_t requests = 0;               // requests made by its users
  std::optional<std::uint32_t> cycle;       // a run of several cycles: its cycle (1-based); none
};

// One rebalance (loads-master --rebalance): an agent left early, the run was re-split.
struct RebalanceFacts {
  struct Share {
    std::string agentId, host;
    std::uint32_t index = 0;  // new index, 0-based
    std::uint32_t users = 0;  // closed model: users; open model: its --max-users pool
  };
  std::uint64_t atMs = 0;        // when the master decided it, since the run's start
  std::string lostId, lostHost;  // the agent that left
  std::string reason;            // why it left ("no heartbeat for 5000 ms", ...)
  std::uint64_t fromMs = 0;      // schedules: applies from this offset into the schedule
  std::int64_t appliesAtUs = 0;  // the same as wall clock µs (closed run: when it was sent)
  std::optional<std::uint64_t> firstArrival;  // open model: the first re-split arrival
  std::uint32_t count = 0;                    // agents sharing the run from then on
  std::vector<Share> shares;                  // the new split
  // Its unique feeders' rows (docs/data.md): what it had dealt of each feed (claimed,
  // when its slave's end did not arrive), and whether the rest went to the others.
  struct FeedRows {
    std::string feed;
    std::uint64_t dealt = 0;
  };
  std::vector<FeedRows> rows;
  bool rowsFinal = false;  // its slave said exactly what it dealt (it did not crash)
  bool rowsMoved = false;  // the rest of its rows went to the agents of the split
  std::optional<std::uint64_t> rowsMovedAtMs;  // when, if later than atMs
};

// Results messages the master dropped as not its run's, by why (docs/json-report.md).
struct RejectedResultsFacts {
  std::uint64_t otherRun = 0;       // another run id
  std::uint64_t unknownAgent = 0;   // an agent id not in the run
  std::uint64_t outOfSequence = 0;  // seq or events-sent went back under an agent's name
  std::uint64_t afterFinal = 0;     // after its agent's STOP-TEST-RUN
};

// What only a distributed run has.
struct DistributedFacts {
  std::string runId;                  // the broker's id of the run
  std::vector<AgentFacts> agents;     // one per agent, in share order
  std::vector<std::string> problems;  // each fault found, one sentence; default none
  std::optional<std::vector<RebalanceFacts>> rebalances;  // with --rebalance only; none
  std::uint64_t malformedResults = 0;  // undecodable messages dropped on the results port
  std::optional<RejectedResultsFacts> rejectedResults;  // when any was dropped; none
};

// A slave runner killed by a signal it was not sent (test code that crashed), as its
// parent described it (PROTOCOL.md §10): in both modes.
struct CrashFacts {
  struct Frame {
    std::string module;        // the file of the frame ("libtests.so"); "" = unknown
    std::uint64_t offset = 0;  // the address within it
    std::string function;      // "Class::method()+0x1c"; "" = no symbol
  };
  std::string agent;          // the agent whose slave it was; "" = local mode's slave
  int signal = 0;             // the signal
  std::string signalName;     // "SIGSEGV"
  std::string description;    // one sentence
  std::string test;           // the crashing thread's test; "" = unknown
  std::uint64_t user = 0;     // its user, 1-based; 0 = unknown
  std::uint64_t hit = 0;      // its hit, 1-based; 0 = unknown
  std::vector<Frame> frames;  // the crashing thread's stack, innermost first; none
};

// One load cycle of the run (-u 10:20 --hits 5:10 is four), in both modes: what it ran,
// as the difference of the run's totals after and before it.
struct CycleFacts {
  std::size_t index = 0;          // 0-based, in the order the cycles ran
  std::uint64_t users = 0;        // users of the cycle (over every agent); 0 = a schedule
  std::uint64_t hitsPerUser = 0;  // 0 = until the duration ended
  std::uint64_t hits = 0, successes = 0, failures = 0, errors = 0, skips = 0;
  std::uint64_t requests = 0, requestFailures = 0;
  std::int64_t tookMs = 0;  // its wall time
};

struct RunFacts {
  std::string library;                          // test library path; default empty
  std::vector<std::string> tests;               // tests selected ("Class.method"); default none
  ReportOptions options;                        // the effective options
  std::int64_t startedUs = 0;                   // wall clock, µs since the epoch; 0 = unknown
  std::int64_t endedUs = 0;                     // wall clock, µs since the epoch; 0 = unknown
  int exitCode = 0;                             // the tool's exit code (design.md §8); default 0
  std::vector<ThresholdResult> thresholds;      // one per --threshold, in order; default none
  std::optional<DistributedFacts> distributed;  // none in local mode
  std::vector<CycleFacts> cycles;               // one per cycle that ran; default none
  std::vector<CrashFacts> crashes;              // slaves the test code crashed; default none
};

}  // namespace loads
