#include "master/metrics_endpoint.hpp"

#include <iostream>

#include "master/signals.hpp"
#include "stats/aggregate_result.hpp"
#include "util/metrics_server.hpp"

namespace loads::master {

MetricsEndpoint::MetricsEndpoint(const AggregateResult& result, MetricsRun live, Waiter& waiter)
    : result_(result), waiter_(waiter), live_(std::move(live)) {}

MetricsEndpoint::~MetricsEndpoint() { server_.reset(); }  // its thread reads our members

bool MetricsEndpoint::serve(const ListenAddress& address) {
  try {
    server_ = std::make_unique<MetricsServer>(address, kOpenMetricsContentType,
                                              [this] { return text(); });
  } catch (const std::runtime_error& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return false;
  }
  if (!address.loopback()) {
    std::cerr << "loads-master: WARNING: " << server_->url()
              << " is open to other machines (--metrics " << address.host
              << "): anyone who can reach it sees this run's figures" << std::endl;
  }
  std::cout << "metrics: " << server_->url() << std::endl;
  return true;
}

std::string MetricsEndpoint::text() {
  {
    std::lock_guard lock(mutex_);
    if (finished_) {
      if (!finalRead_) {
        finalRead_ = true;
        waiter_.notifyDone();
      }
      return final_;
    }
  }
  // Rendered outside the lock: the snapshot may take a while on a big run.
  MetricsRun live;
  {
    std::lock_guard lock(mutex_);
    live = live_;
  }
  return metricsText(result_.snapshot(), live);
}

void MetricsEndpoint::finish(const Snapshot& final, MetricsRun run) {
  run.finished = true;
  std::string text = metricsText(final, run);
  std::lock_guard lock(mutex_);
  final_ = std::move(text);
  finished_ = true;
}

void MetricsEndpoint::lingerFor(std::chrono::milliseconds linger) {
  const auto deadline = std::chrono::steady_clock::now() + linger;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (finalRead_) return;
    }
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return;
    if (waiter_.wait(left) == Wake::kInterrupt) return;
  }
}

}  // namespace loads::master
