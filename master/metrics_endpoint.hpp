// MetricsEndpoint: loads-master's /metrics for one run (docs/metrics.md). During the run
// each scrape renders the AggregateResult's snapshot live; once finish() is called it
// serves the final values (the snapshot and facts the reports are made of), and tells
// the waiter the first time a scrape has read them, so the master's linger can end.
//
// It serves on --metrics [HOST:]PORT with its own MetricsServer; for --web, text() is
// handed to the dashboard, which serves it on its port.
//
// Thread-safety: text() runs on the servers' threads; finish() and lingerFor() on the
// master's thread. The result and the waiter must outlive it.
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "report/metrics_text.hpp"

namespace loads {
class AggregateResult;
class MetricsServer;
struct ListenAddress;
}  // namespace loads

namespace loads::master {

class Waiter;

class MetricsEndpoint {
 public:
  MetricsEndpoint(const AggregateResult& result, MetricsRun live, Waiter& waiter);
  ~MetricsEndpoint();

  // Serves on `address` too; prints "metrics: URL". Returns false after printing one
  // sentence when it cannot bind.
  bool serve(const ListenAddress& address);
  // The exposition now: live, or the final values once finished.
  std::string text();
  // The run is over: from now on text() is `final`'s.
  void finish(const Snapshot& final, MetricsRun run);
  // Waits until a scrape has read the final values, an interrupt, or `linger` passed.
  void lingerFor(std::chrono::milliseconds linger);

 private:
  const AggregateResult& result_;
  Waiter& waiter_;
  std::mutex mutex_;  // guards the members below
  MetricsRun live_;
  std::string final_;  // set by finish()
  bool finished_ = false;
  bool finalRead_ = false;
  std::unique_ptr<MetricsServer> server_;  // last: its thread calls text()
};

}  // namespace loads::master
