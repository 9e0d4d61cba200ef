// loads-fleet-sim: one process that plays N agents against a real broker and master
// (issue #14, bench/RESULTS.md "1,000 agents"). Each agent has its own DEALER to the
// broker's backend and speaks LOADS/1 as loads-agent does: HELLO (listing the test
// library as cached, so JOBs come without bytes), HEARTBEAT every interval of WELCOME,
// JOB, STOP, JOB-ENDED. Its "slave" is simulated in-process: from its JOB on it sends
// synthetic results to the master's results endpoint over its own PUSH socket, `--rate`
// hits a second for the JOB's duration, as SUMMARY messages (--results summary) or as
// RESULTS events (raw), then STOP-TEST-RUN with the count, then JOB-ENDED.
//
// On exit (SIGINT/SIGTERM, --exit-after-jobs, or --lifetime) it prints one line of
// figures, "fleet-sim: key=value ...", that the bench script and tests/e2e/fleet_test read:
// hits sent (what the master's report must count), jobs, the time of the first and last
// JOB, errors received. Every agent's sockets are owned by one worker thread.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <csignal>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "proto/messages.hpp"
#include "proto/results.hpp"
#include "proto/summary.hpp"
#include "stats/interval_summary.hpp"
#include "util/open_files.hpp"

using namespace loads;
using Clock = std::chrono::steady_clock;

namespace {

struct SimOptions {
  std::string broker = "tcp://127.0.0.1:7781";  // the broker's backend
  std::uint32_t agents = 100;                   // agents played
  std::uint32_t threads = 2;                    // worker threads (agents split over them)
  std::string library;                          // the master's test library (its sha256 is listed)
  double rate = 1000;                           // hits a second per busy agent
  std::string results = "summary";              // summary | raw
  std::uint32_t exitAfterJobs = 0;              // exit once this many jobs ended; 0 = never
  double lifetime = 0;                          // exit after this many seconds; 0 = never
  std::string idPrefix = "sim";                 // agent ids: PREFIX-<n>
};

std::atomic<bool> stopping{false};
void onSignal(int) { stopping = true; }

std::int64_t wallUs() {
  using namespace std::chrono;
  return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

// Figures over all workers.
struct Totals {
  std::atomic<std::uint64_t> hits{0}, events{0}, jobs{0}, jobsEnded{0}, welcomes{0}, errors{0},
      heartbeatsSent{0}, messagesSent{0};
  std::atomic<std::int64_t> firstJobUs{0}, lastJobUs{0};
  void noteJob(std::int64_t at) {
    std::int64_t first = firstJobUs.load();
    while ((first == 0 || at < first) && !firstJobUs.compare_exchange_weak(first, at)) {
    }
    std::int64_t last = lastJobUs.load();
    while (at > last && !lastJobUs.compare_exchange_weak(last, at)) {
    }
  }
};

// The synthetic latencies: five values with fixed shares, so a summary is cheap to make
// at any rate and the report's percentiles are known.
constexpr std::int64_t kLatencyUs[] = {800, 1500, 3000, 12000, 90000};
constexpr std::uint64_t kShare[] = {40, 30, 20, 9, 1};  // percent

// A simulated slave: the results of one job.
struct SimSlave {
  proto::Job job;
  std::unique_ptr<zmq::socket_t> push;
  std::unique_ptr<proto::ResultsEncoder> encoder;
  Clock::time_point started, ends, nextSend, accounted;  // accounted: hits owed up to here
  std::int64_t startedUs = 0;
  double owed = 0;  // hits due but not yet sent (fractions of the rate)
  bool sentStart = false;
};

struct SimAgent {
  std::string id;
  std::unique_ptr<zmq::socket_t> dealer;
  bool welcomed = false;
  std::chrono::milliseconds heartbeat{1000};
  Clock::time_point nextHeartbeat;
  std::unique_ptr<SimSlave> slave;
};

class Worker {
 public:
  Worker(zmq::context_t& context, const SimOptions& o, std::string sha, Totals& totals,
         std::uint32_t first, std::uint32_t count)
      : context_(context), o_(o), sha_(std::move(sha)), totals_(totals) {
    for (std::uint32_t i = first; i < first + count; ++i) {
      auto& a = agents_.emplace_back();
      a.id = o.idPrefix + "-" + std::to_string(i);
    }
  }

  void run() {
    for (auto& a : agents_) connect(a);
    std::vector<zmq::pollitem_t> items;
    while (!stopping) {
      items.clear();
      for (auto& a : agents_) items.push_back({a.dealer->handle(), 0, ZMQ_POLLIN, 0});
      zmq::poll(items.data(), items.size(), std::chrono::milliseconds(20));
      for (std::size_t i = 0; i < agents_.size(); ++i) {
        if (items[i].revents & ZMQ_POLLIN) receive(agents_[i]);
      }
      const auto now = Clock::now();
      for (auto& a : agents_) {
        if (a.welcomed && now >= a.nextHeartbeat) {
          send(a, proto::Heartbeat{});
          ++totals_.heartbeatsSent;
          a.nextHeartbeat = now + a.heartbeat;
        }
        if (a.slave) tickSlave(a, now);
      }
    }
    for (auto& a : agents_) {
      if (a.slave) a.slave->push->close();
      send(a, proto::Disconnect{"fleet-sim exits"});
      a.dealer->close();
    }
  }

 private:
  void connect(SimAgent& a) {
    a.dealer = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
    a.dealer->set(zmq::sockopt::linger, 200);
    a.dealer->connect(o_.broker);
    proto::Hello hello{
        a.id, "fleet-sim-host", 2, "fleet-sim", {sha_}, "", static_cast<std::uint32_t>(::getpid())};
    send(a, hello);
  }

  template <class T>
  void send(SimAgent& a, const T& message) {
    const std::string bytes = proto::encode(message);
    a.dealer->send(zmq::buffer(bytes), zmq::send_flags::dontwait);
  }

  void receive(SimAgent& a) {
    zmq::message_t m;
    while (a.dealer->recv(m, zmq::recv_flags::dontwait)) {
      auto envelope = proto::decodeEnvelope(std::string_view(m.data<char>(), m.size()));
      if (!envelope) {
        ++totals_.errors;
        continue;
      }
      switch (envelope->type) {
        case proto::MessageType::kWelcome: {
          auto w = proto::decodeBody<proto::Welcome>(*envelope);
          if (w) a.heartbeat = std::chrono::milliseconds(w->heartbeatMs);
          a.welcomed = true;
          // Spread the fleet's heartbeats over the interval, as independent agents are.
          a.nextHeartbeat = Clock::now() + a.heartbeat * (std::hash<std::string>{}(a.id) % 97) / 97;
          ++totals_.welcomes;
          break;
        }
        case proto::MessageType::kJob: {
          auto job = proto::decodeBody<proto::Job>(*envelope);
          if (job) startJob(a, std::move(*job));
          break;
        }
        case proto::MessageType::kStop:
          if (a.slave) a.slave->ends = Clock::now();
          break;
        case proto::MessageType::kError: {
          auto e = proto::decodeBody<proto::Error>(*envelope);
          ++totals_.errors;
          std::cerr << "fleet-sim: " << a.id << " got ERROR " << (e ? e->text : "?") << std::endl;
          break;
        }
        default:
          break;  // HEARTBEAT, and what a real agent also ignores
      }
    }
  }

  void startJob(SimAgent& a, proto::Job job) {
    totals_.noteJob(wallUs());
    ++totals_.jobs;
    auto s = std::make_unique<SimSlave>();
    s->push = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::push);
    s->push->set(zmq::sockopt::sndhwm, 1000);
    s->push->set(zmq::sockopt::linger, 10000);
    s->push->connect(job.resultsEndpoint);
    s->encoder = std::make_unique<proto::ResultsEncoder>(job.runId, job.agentId);
    s->started = s->accounted = Clock::now();
    s->nextSend = s->started + std::chrono::milliseconds(o_.results == "summary" ? 1000 : 50);
    s->startedUs = wallUs();
    s->ends = s->started +
              std::chrono::milliseconds(job.options.durationMs ? job.options.durationMs : 1000);
    s->job = std::move(job);
    a.slave = std::move(s);
  }

  // Sends what the rate owes every interval (a summary a second, or raw batches every
  // 50 ms), and at the end the rest, STOP-TEST-RUN and JOB-ENDED.
  void tickSlave(SimAgent& a, Clock::time_point now) {
    SimSlave& s = *a.slave;
    const bool summary = o_.results == "summary";
    const auto interval = summary ? std::chrono::milliseconds(1000) : std::chrono::milliseconds(50);
    const bool last = now >= s.ends;
    if (!last && now < s.nextSend) return;
    const auto upTo = std::max(s.accounted, last ? s.ends : now);
    s.owed += o_.rate * std::chrono::duration<double>(upTo - s.accounted).count();
    s.accounted = upTo;
    const auto hits = static_cast<std::uint64_t>(s.owed);
    s.owed -= static_cast<double>(hits);
    s.nextSend = now + interval;
    if (summary) {
      sendSummary(s, hits, last);
    } else {
      sendRaw(s, hits, last);
    }
    if (!last) return;
    proto::EventBuffer none;
    push(s, s.encoder->finalBatch(none));
    totals_.events += s.encoder->eventsSent();
    s.push->close();  // lingers until delivered
    send(a, proto::JobEnded{s.job.runId, 0, 0, ""});
    a.slave.reset();
    if (++totals_.jobsEnded == o_.exitAfterJobs && o_.exitAfterJobs) stopping = true;
  }

  void push(SimSlave& s, const std::string& bytes) {
    // Blocks while the master is slow (a real slave's runner threads wait too).
    s.push->send(zmq::buffer(bytes), zmq::send_flags::none);
    ++totals_.messagesSent;
  }

  void sendSummary(SimSlave& s, std::uint64_t hits, bool last) {
    IntervalSummary m;
    const std::int64_t now = wallUs();
    if (!s.sentStart) {
      m.runStartedUs = s.startedUs;
      ++m.events;
      s.sentStart = true;
    }
    if (last) {
      m.runStoppedUs = now;
      ++m.events;
    }
    if (hits) {
      auto& entry = m.requests.emplace_back();
      entry.name = "GET /sim";
      RequestSummary& r = entry.counts;
      r.count = hits;
      r.bytes = hits * 512;
      auto& sec = m.seconds.emplace_back();
      sec.second = now / 1'000'000;
      sec.requests = hits;
      sec.users = 1;
      std::uint64_t left = hits;
      for (std::size_t i = 0; i < std::size(kLatencyUs); ++i) {
        const std::uint64_t n = i + 1 == std::size(kLatencyUs) ? left : hits * kShare[i] / 100;
        left -= n;
        r.latency.record(kLatencyUs[i], n);
        r.latencyCorrected.record(kLatencyUs[i], n);
        sec.latency.record(kLatencyUs[i], n);
      }
      r.firstStartedUs = now - 1'000'000;
      r.lastEndedUs = now;
      m.statuses.push_back({0, 200, hits});
      m.firstEventUs = r.firstStartedUs;
      m.lastEventUs = now;
      m.events += hits;
    }
    totals_.hits += hits;
    push(s, proto::encodeSummary(*s.encoder, m));
  }

  void sendRaw(SimSlave& s, std::uint64_t hits, bool last) {
    proto::EventBuffer events;
    const std::int64_t now = wallUs();
    if (!s.sentStart) {
      events.startTestRunAt(s.startedUs);
      s.sentStart = true;
    }
    LoadsStatus status;
    status.users = 1;
    Hit hit;
    hit.name = "GET /sim";
    hit.url = "http://127.0.0.1/sim";
    hit.method = "GET";
    hit.status = 200;
    hit.bytes = 512;
    for (std::uint64_t i = 0; i < hits; ++i) {
      hit.elapsedUs = kLatencyUs[i % std::size(kLatencyUs)];
      hit.startedUs = now - hit.elapsedUs;
      events.addHit(hit, status);
      if (events.bytes() >= proto::kDefaultBatchBytes) push(s, s.encoder->batch(events));
    }
    if (last) events.stopTestRunAt(now);
    if (!events.empty()) push(s, s.encoder->batch(events));
    totals_.hits += hits;
  }

  zmq::context_t& context_;
  const SimOptions& o_;
  std::string sha_;
  Totals& totals_;
  std::vector<SimAgent> agents_;
};

}  // namespace

int main(int argc, char** argv) {
  SimOptions o;
  CLI::App app{"loads-fleet-sim: N protocol-speaking agents in one process (bench/fleet.sh)"};
  app.add_option("--broker", o.broker, "The broker's backend (default tcp://127.0.0.1:7781)");
  app.add_option("--agents", o.agents, "Agents to play (default 100)")
      ->check(CLI::Range(1u, 20000u));
  app.add_option("--threads", o.threads, "Worker threads (default 2)")->check(CLI::Range(1u, 64u));
  app.add_option("--library", o.library, "The test library the master sends (listed as cached)")
      ->required();
  app.add_option("--rate", o.rate, "Hits a second each busy agent reports (default 1000)");
  app.add_option("--results", o.results, "summary or raw (default summary)")
      ->check(CLI::IsMember({"raw", "summary"}));
  app.add_option("--exit-after-jobs", o.exitAfterJobs, "Exit once this many jobs ended");
  app.add_option("--lifetime", o.lifetime, "Exit after this many seconds (default: on SIGTERM)");
  app.add_option("--id-prefix", o.idPrefix, "Agent ids are PREFIX-<n> (default sim)");
  CLI11_PARSE(app, argc, argv);

  std::ifstream in(o.library, std::ios::binary);
  if (!in) {
    std::cerr << "fleet-sim: cannot read " << o.library << std::endl;
    return 2;
  }
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string sha = proto::sha256Hex(bytes);

  raiseOpenFilesLimit();  // 1,000 agents hold 2,000 sockets, some 4,000 descriptors
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  zmq::context_t context(2);
  context.set(zmq::ctxopt::max_sockets, static_cast<int>(o.agents * 2 + 64));

  Totals totals;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::thread> threads;
  const std::uint32_t per = (o.agents + o.threads - 1) / o.threads;
  for (std::uint32_t first = 0; first < o.agents; first += per) {
    workers.push_back(
        std::make_unique<Worker>(context, o, sha, totals, first, std::min(per, o.agents - first)));
  }
  for (auto& w : workers) threads.emplace_back([&w] { w->run(); });
  const auto start = Clock::now();
  std::uint64_t reported = 0;
  while (!stopping) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (o.lifetime > 0 && Clock::now() - start >= std::chrono::duration<double>(o.lifetime)) {
      stopping = true;
    }
    if (totals.welcomes >= o.agents && reported == 0) {
      std::cout << "fleet-sim: all " << o.agents << " agents welcomed" << std::endl;
      reported = 1;
    }
  }
  for (auto& t : threads) t.join();
  std::cout << "fleet-sim: agents=" << o.agents << " welcomes=" << totals.welcomes
            << " jobs=" << totals.jobs << " jobs-ended=" << totals.jobsEnded
            << " hits=" << totals.hits << " events=" << totals.events
            << " messages=" << totals.messagesSent << " heartbeats=" << totals.heartbeatsSent
            << " errors=" << totals.errors << " first-job-us=" << totals.firstJobUs
            << " last-job-us=" << totals.lastJobUs << std::endl;
  return 0;
}
