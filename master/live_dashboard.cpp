#include "master/live_dashboard.hpp"

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "report/console_output.hpp"
#include "stats/aggregate_result.hpp"

namespace loads::master {
namespace {

using Json = nlohmann::json;
using namespace std::chrono_literals;

constexpr std::size_t kSeriesSeconds = 300;  // the charts show the last 5 minutes
constexpr std::size_t kRequestRows = 100;    // busiest request names shown
constexpr std::size_t kErrorRows = 10;       // most frequent errors shown
constexpr auto kFinishGrace = 2s;            // time given to pages to get the final state

double ms(std::int64_t us) { return static_cast<double>(us) / 1000.0; }
double toSeconds(std::chrono::microseconds d) { return static_cast<double>(d.count()) / 1e6; }

std::int64_t nowSecond() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

// Per-second series as columns; while running, the current (partial) second is left out.
Json series(const Snapshot& snap, bool finished) {
  Json t = Json::array(), req = Json::array(), err = Json::array(), p50 = Json::array(),
       p99 = Json::array(), users = Json::array();
  const std::int64_t current = nowSecond();
  std::size_t first =
      snap.seconds.size() > kSeriesSeconds ? snap.seconds.size() - kSeriesSeconds : 0;
  for (std::size_t i = first; i < snap.seconds.size(); ++i) {
    const SecondSample& s = snap.seconds[i];
    if (!finished && s.second >= current) continue;
    t.push_back(s.second);
    req.push_back(s.requests);
    err.push_back(s.errors);
    p50.push_back(ms(s.p50Us));
    p99.push_back(ms(s.p99Us));
    users.push_back(s.users);
  }
  return Json{{"t", t}, {"req", req}, {"err", err}, {"p50", p50}, {"p99", p99}, {"users", users}};
}

Json requestRows(const Snapshot& snap, double runSecs) {
  std::vector<const std::pair<const std::string, RequestSummary>*> rows;
  for (const auto& entry : snap.requests) rows.push_back(&entry);
  std::stable_sort(rows.begin(), rows.end(),
                   [](auto* a, auto* b) { return a->second.count > b->second.count; });
  if (rows.size() > kRequestRows) rows.resize(kRequestRows);
  Json out = Json::array();
  for (const auto* row : rows) {
    const RequestSummary& r = row->second;
    out.push_back(Json{{"name", row->first},
                       {"count", r.count},
                       {"failures", r.failures},
                       {"rps", runSecs > 0 ? static_cast<double>(r.count) / runSecs : 0.0},
                       {"p50", ms(r.latency.percentile(50))},
                       {"p95", ms(r.latency.percentile(95))},
                       {"p99", ms(r.latency.percentile(99))},
                       {"max", ms(r.latency.max())},
                       // HTTP phases (p95): connect (0 on kept-alive), TLS, time to first byte
                       {"connectP95", r.phased ? Json(ms(r.phases[1].percentile(95))) : Json()},
                       {"tlsP95", r.phased ? Json(ms(r.phases[2].percentile(95))) : Json()},
                       {"waitingP95", r.phased ? Json(ms(r.phases[4].percentile(95))) : Json()}});
  }
  return out;
}

Json testRows(const Snapshot& snap) {
  Json out = Json::array();
  for (const auto& [name, t] : snap.tests) {
    out.push_back(Json{{"name", name},
                       {"hits", t.stopped},
                       {"successes", t.successes},
                       {"failures", t.failures},
                       {"errors", t.errors},
                       {"skips", t.skips},
                       {"p50", ms(t.hitTime.percentile(50))},
                       {"p99", ms(t.hitTime.percentile(99))}});
  }
  return out;
}

Json errorRows(const Snapshot& snap) {
  Json out = Json::array();
  for (std::size_t i = 0; i < snap.errors.size() && i < kErrorRows; ++i) {
    const ErrorSample& e = snap.errors[i];
    out.push_back(Json{{"kind", e.failure ? "failure" : "error"},
                       {"test", e.test},
                       {"type", e.type},
                       {"message", e.message},
                       {"count", e.count}});
  }
  return out;
}

Json agentRows(const std::vector<DashboardAgent>& agents, const Snapshot& snap) {
  Json out = Json::array();
  for (const DashboardAgent& a : agents) {
    auto hits = snap.requestsBySource.find(a.index);
    out.push_back(Json{{"id", a.id},
                       {"host", a.host},
                       {"state", a.state},
                       {"events", a.eventsReceived},
                       {"requests", hits == snap.requestsBySource.end() ? 0 : hits->second}});
  }
  return out;
}

}  // namespace

std::unique_ptr<LiveDashboard> LiveDashboard::start(const WebAddress& address, std::string mode,
                                                    const AggregateResult& result, ClockFn clock,
                                                    std::function<void()> onStop,
                                                    std::function<std::string()> metrics) {
  std::unique_ptr<LiveDashboard> live(new LiveDashboard(std::move(mode), result, std::move(clock)));
  LiveDashboard* self = live.get();
  DashboardOptions options;
  options.address = address;
  options.metrics = std::move(metrics);
  try {
    live->web_ = std::make_unique<WebDashboard>(
        options, [self] { return self->state(self->result_.snapshot(), false); },
        [self, onStop = std::move(onStop)] {
          {
            std::lock_guard lock(self->mutex_);
            self->stopRequested_ = true;
          }
          std::cerr << "\nloads-master: Stop pressed on the dashboard" << std::endl;
          onStop();
        });
  } catch (const std::runtime_error& e) {
    std::cerr << "loads-master: " << e.what() << std::endl;
    return nullptr;
  }
  if (!address.loopback()) {
    std::cerr << "loads-master: WARNING: the dashboard " << live->web_->url()
              << " is open to other machines (--web " << address.host
              << "): anyone who can reach it sees this run and can stop it" << std::endl;
  }
  std::cout << "dashboard: " << live->web_->url() << std::endl;
  return live;
}

LiveDashboard::LiveDashboard(std::string mode, const AggregateResult& result, ClockFn clock)
    : mode_(std::move(mode)), result_(result), clock_(std::move(clock)) {}

LiveDashboard::~LiveDashboard() { web_.reset(); }  // its thread reads our members

void LiveDashboard::setAgents(std::vector<DashboardAgent> agents) {
  std::lock_guard lock(mutex_);
  agents_ = std::move(agents);
}

void LiveDashboard::finish(const Snapshot& final) {
  web_->finish(state(final, true), kFinishGrace);
}

std::string LiveDashboard::state(const Snapshot& snap, bool finished) const {
  const DashboardClock clock = clock_();
  std::uint64_t hits = 0, failures = 0, errors = 0;
  for (const auto& [name, t] : snap.tests) {
    hits += t.stopped;
    failures += t.failures;
    errors += t.errors;
  }
  const RequestSummary& all = snap.allRequests;
  const double runSecs = runSeconds(snap);
  std::uint64_t lastSecond = 0;  // requests of the last complete second
  const std::int64_t previous = nowSecond() - 1;
  for (auto it = snap.seconds.rbegin(); it != snap.seconds.rend(); ++it) {
    if (it->second == previous) lastSecond = it->requests;
    if (it->second <= previous) break;
  }
  Json agents = nullptr;
  bool stopRequested;
  {
    std::lock_guard lock(mutex_);
    stopRequested = stopRequested_;
    if (mode_ == "distributed") agents = agentRows(agents_, snap);
  }
  Json counters = Json::array();
  for (const auto& [name, value] : snap.counters) counters.push_back(Json{name, value});
  Json overflows = Json::array();
  for (const NameOverflow& o : snap.overflows) overflows.push_back(overflowSentence(o));
  Json state{{"v", 1},
             {"mode", mode_},
             {"state", finished                          ? "finished"
                       : clock.stopping || stopRequested ? "stopping"
                                                         : "running"},
             {"elapsed", toSeconds(clock.elapsed)},
             {"remaining",
              clock.remaining && !finished ? Json(toSeconds(*clock.remaining)) : Json(nullptr)},
             {"users", finished ? 0u : snap.currentUsers},
             {"maxUsers", snap.maxUsers},
             {"hits", hits},
             {"testFailures", failures},
             {"testErrors", errors},
             {"requests", all.count},
             {"requestFailures", all.failures},
             {"bytes", all.bytes},
             {"rps", finished ? (runSecs > 0 ? static_cast<double>(all.count) / runSecs : 0.0)
                              : static_cast<double>(lastSecond)},
             {"p50", ms(all.latency.percentile(50))},
             {"p95", ms(all.latency.percentile(95))},
             {"p99", ms(all.latency.percentile(99))},
             {"series", series(snap, finished)},
             {"requestRows", requestRows(snap, runSecs)},
             {"tests", testRows(snap)},
             {"counters", std::move(counters)},
             {"sockets", Json{{"opened", snap.sockets.opened},
                              {"failed", snap.sockets.failed},
                              {"sent", snap.sockets.messagesSent},
                              {"received", snap.sockets.messagesReceived}}},
             {"errors", errorRows(snap)},
             {"overflows", std::move(overflows)},
             {"agents", std::move(agents)}};
  // Messages come from user code and servers: replace invalid UTF-8, never throw.
  return state.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace loads::master
