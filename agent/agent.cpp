// The agent's loop: connection and heartbeats with the broker, jobs and the slave.
#include "agent/agent.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <thread>
#include <zmq.hpp>

#include "agent/library_cache.hpp"
#include "agent/ringed_slave.hpp"
#include "agent/slave_process.hpp"
#include "agent/slave_runner.hpp"
#include "loads/version.hpp"
#include "proto/messages.hpp"
#include "util/host_name.hpp"

namespace loads::agent {

using Clock = std::chrono::steady_clock;
using proto::MessageType;
using std::chrono::milliseconds;

namespace {

// A library part that does not come within kPartTimeout is asked for again (its reply
// was lost with a dropped connection); after kPartTries the job ends with one sentence.
constexpr milliseconds kPartTimeout{10000};
constexpr int kPartTries = 4;
constexpr std::uint64_t kMaxLibrarySize = std::uint64_t{2} << 30;  // RUN's own limit

std::string defaultSlaveBinary() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "loads-slave";
  return (self.parent_path() / "loads-slave").string();
}

}  // namespace

class Agent::Loop {
 public:
  explicit Loop(AgentOptions options);
  int run();
  void requestStop() { stopRequested_ = true; }
  const std::string& id() const { return options_.id; }

 private:
  struct CurrentJob {
    proto::Job job;                       // without the library bytes
    std::unique_ptr<RingedSlave> ringed;  // the slave and its event ring; null while waiting
    SlaveProcess* slave = nullptr;        // ringed's process; null while waiting for the library
    std::string libraryPath;              // the library in the cache, once there
    std::string fetching;                 // sha256 of the library or data file being fetched
    proto::Bytes incoming;                // its parts received so far
    Clock::time_point partDeadline{};     // the part asked for is due by then
    int partTries = 0;                    // requests for the current part
  };

  template <class T>
  void send(const T& message) {
    if (!socket_) return;
    try {
      socket_->send(zmq::buffer(proto::encode(message)), zmq::send_flags::dontwait);
    } catch (const zmq::error_t& e) {
      spdlog::warn("cannot send {} to the broker: {}", proto::messageTypeName(T::kType), e.what());
    }
  }
  void connect();
  void dropSocket(const std::string& why, bool backoff);
  void receiveAll();
  void onMessage(const std::string& bytes);
  void onWelcome(const proto::Envelope& envelope);
  void onJob(const proto::Envelope& envelope);
  void onStop(const proto::Envelope& envelope);
  void onRebalance(const proto::Envelope& envelope);
  void onLibraryPart(const proto::Envelope& envelope);
  void requestPart();
  void checkPartDeadline();
  void fetchOrStart();
  void onError(const proto::Envelope& envelope);
  void startSlave(const std::map<std::string, std::string>& files);
  void endJob(int exitCode, int signal, std::string reason);
  void checkSlave();
  void onTimers();
  void shutdown();

  AgentOptions options_;
  LibraryCache cache_;
  std::string host_;
  std::atomic<bool> stopRequested_{false};
  int exitCode_ = 0;

  zmq::context_t context_;
  std::unique_ptr<zmq::socket_t> socket_;
  bool registered_ = false;
  // The first ERROR 409 since the last WELCOME: refused for liveness + 1 intervals, the
  // agent exits (code 2).
  std::optional<Clock::time_point> idRefusedSince_;
  Clock::time_point lastHeard_;
  Clock::time_point nextHeartbeat_;
  Clock::time_point reconnectAt_;
  milliseconds backoff_{1000};
  milliseconds heartbeat_;
  std::uint32_t liveness_;
  std::uint64_t malformed_ = 0;
  proto::DecodeLimits limits_;  // maxMessageSize: the broker's, from WELCOME (one option)

  std::optional<CurrentJob> job_;
  // Forwarders of ended slaves still delivering their last events (on their own threads).
  std::vector<std::unique_ptr<RingForwarder>> forwarding_;
  // A job that ended while no broker listened: announced in the next HELLO, sent after WELCOME.
  std::optional<proto::JobEnded> unreported_;
  // Sent, but nothing heard from the broker since: it may be lost with the socket when the
  // broker went silent (a SIGSTOPped broker reads it only if the connection survives).
  std::optional<proto::JobEnded> unconfirmed_;
};

Agent::Loop::Loop(AgentOptions options)
    : options_(std::move(options)),
      cache_(options_.cacheDir.empty() ? LibraryCache::defaultDirectory() : options_.cacheDir,
             options_.cacheMax),
      host_(hostName()),
      context_(1),
      heartbeat_(options_.heartbeat),
      liveness_(options_.liveness) {
  if (options_.id.empty()) options_.id = host_ + "-" + std::to_string(::getpid());
  if (options_.slaveBinary.empty()) options_.slaveBinary = defaultSlaveBinary();
  if (heartbeat_.count() <= 0) heartbeat_ = milliseconds(1000);
  if (liveness_ == 0) liveness_ = 5;
  reconnectAt_ = Clock::now();
}

int Agent::Loop::run() {
  spdlog::info("loads-agent {} {}: broker {}, cache {}, slave {}", LOADS_VERSION, options_.id,
               options_.broker, cache_.directory(), options_.slaveBinary);
  while (!stopRequested_ && exitCode_ == 0) {
    if (!socket_ && Clock::now() >= reconnectAt_) connect();
    if (socket_) {
      zmq::pollitem_t item{socket_->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(50));
      if (item.revents & ZMQ_POLLIN) receiveAll();
    } else {
      std::this_thread::sleep_for(milliseconds(50));  // the loop's tick while disconnected
    }
    checkSlave();
    onTimers();
  }
  shutdown();
  return exitCode_;
}

// ---------------------------------------------------------------- connection

void Agent::Loop::connect() {
  socket_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::maxmsgsize,
               static_cast<std::int64_t>(proto::frameLimit(limits_.maxMessageSize)));
  if (!options_.key.empty()) security::makeCurveClient(*socket_, options_.key, options_.brokerKey);
  socket_->connect(options_.broker);
  registered_ = false;
  lastHeard_ = Clock::now();
  proto::Hello hello{options_.id,
                     host_,
                     std::max(1u, std::thread::hardware_concurrency()),
                     LOADS_VERSION,
                     cache_.list(),
                     job_          ? job_->job.runId
                     : unreported_ ? unreported_->runId
                                   : "",
                     static_cast<std::uint32_t>(::getpid())};
  // The broker refuses a HELLO past its cap; a larger cache lists what fits (the broker
  // sends the bytes of any other library with the JOB).
  if (hello.libraries.size() > proto::kMaxHelloLibraries)
    hello.libraries.resize(proto::kMaxHelloLibraries);
  send(hello);
}

void Agent::Loop::dropSocket(const std::string& why, bool backoff) {
  spdlog::warn("{}: reconnecting to {} in {} ms", why, options_.broker,
               backoff ? backoff_.count() : 0);
  socket_.reset();
  if (unconfirmed_) {  // HELLO names its run, and JOB-ENDED is said again once welcome
    unreported_ = std::move(unconfirmed_);
    unconfirmed_.reset();
  }
  registered_ = false;
  reconnectAt_ = Clock::now() + (backoff ? backoff_ : milliseconds(0));
  if (backoff) backoff_ = std::min(backoff_ * 2, options_.maxBackoff);
}

void Agent::Loop::receiveAll() {
  for (int i = 0; i < 100 && socket_; ++i) {
    zmq::message_t message;
    zmq::recv_result_t got;
    try {
      got = socket_->recv(message, zmq::recv_flags::dontwait);
    } catch (const zmq::error_t& e) {
      spdlog::warn("receive from the broker failed: {}", e.what());
      return;
    }
    if (!got) return;
    lastHeard_ = Clock::now();  // any message is a sign of life
    unconfirmed_.reset();       // ... and the broker read what was sent before it
    onMessage(message.to_string());
  }
}

void Agent::Loop::onMessage(const std::string& bytes) {
  auto envelope = proto::decodeEnvelope(bytes, limits_);
  if (!envelope && envelope.error() == proto::ErrorCode::kVersionMismatch) {
    // Nothing this agent sends or receives would mean the same to that broker.
    spdlog::error(
        "loads-agent: the broker at {} speaks another protocol ({}): run the same "
        "loads version on broker and agents",
        options_.broker, envelope.reason());
    exitCode_ = 3;
    return;
  }
  if (!envelope) {
    ++malformed_;
    spdlog::warn("malformed message #{} from the broker dropped: {}", malformed_,
                 envelope.reason());
    return;
  }
  switch (envelope->type) {
    case MessageType::kWelcome:
      onWelcome(envelope.value());
      break;
    case MessageType::kJob:
      onJob(envelope.value());
      break;
    case MessageType::kStop:
      onStop(envelope.value());
      break;
    case MessageType::kRebalance:
      onRebalance(envelope.value());
      break;
    case MessageType::kLibraryPart:
      onLibraryPart(envelope.value());
      break;
    case MessageType::kError:
      onError(envelope.value());
      break;
    case MessageType::kHeartbeat:
      break;
    case MessageType::kDisconnect:
      dropSocket("the broker is shutting down", true);
      break;
    default:
      ++malformed_;
      spdlog::warn("unexpected {} from the broker dropped", envelope->typeName);
  }
}

void Agent::Loop::onWelcome(const proto::Envelope& envelope) {
  auto welcome = proto::decodeBody<proto::Welcome>(envelope);
  if (!welcome) {
    spdlog::warn("bad WELCOME: {}", welcome.reason());
    return;
  }
  // The transport's limit is set on connecting: a broker that allows larger messages
  // (a JOB carries the library) is reconnected to with its limit, once.
  if (welcome->maxMessageSize != 0 && welcome->maxMessageSize != limits_.maxMessageSize) {
    limits_.maxMessageSize = static_cast<std::size_t>(welcome->maxMessageSize);
    dropSocket(
        "the broker's --max-message-size is " + std::to_string(welcome->maxMessageSize) + " bytes",
        false);
    return;
  }
  registered_ = true;
  idRefusedSince_.reset();
  backoff_ = milliseconds(1000);
  if (welcome->heartbeatMs > 0) heartbeat_ = milliseconds(welcome->heartbeatMs);
  if (welcome->liveness > 0) liveness_ = welcome->liveness;
  nextHeartbeat_ = Clock::now() + heartbeat_;
  spdlog::info("registered with {} as {} (heartbeat {} ms)", options_.broker, options_.id,
               heartbeat_.count());
  if (job_ && !job_->slave && job_->partTries > 0) {
    spdlog::info("run {}: asking again for the library part lost with the old connection",
                 job_->job.runId);
    requestPart();
  }
  if (unreported_) {
    spdlog::info("run {}: JOB-ENDED sent now that a broker listens", unreported_->runId);
    send(*unreported_);
    unreported_.reset();
  }
}

void Agent::Loop::onError(const proto::Envelope& envelope) {
  auto error = proto::decodeBody<proto::Error>(envelope);
  if (!error) return;
  const auto code = static_cast<proto::ErrorCode>(error->code);
  spdlog::warn("broker: ERROR {} {}", error->code, error->text);
  if (code == proto::ErrorCode::kVersionMismatch) {
    spdlog::error("loads-agent: {}", error->text);
    exitCode_ = 3;
  } else if (code == proto::ErrorCode::kDuplicate &&
             (!idRefusedSince_ || Clock::now() - *idRefusedSince_ < heartbeat_ * (liveness_ + 1))) {
    // The holder may be this agent's own predecessor, dead without a DISCONNECT (a crash
    // and a quick restart with the same --id): the broker gives the id over once the
    // holder has missed 3 heartbeats. Ask again every interval (PROTOCOL.md §8.2).
    if (!idRefusedSince_) idRefusedSince_ = Clock::now();
    spdlog::warn("the id {} is taken by a live agent: asking {} again in {} ms", options_.id,
                 options_.broker, heartbeat_.count());
    socket_.reset();
    registered_ = false;
    reconnectAt_ = Clock::now() + heartbeat_;
  } else if (code == proto::ErrorCode::kDuplicate) {
    // A live twin: saying HELLO again would only fight it for the id.
    spdlog::error(
        "loads-agent: the broker at {} already has a live agent with the id \"{}\": "
        "give each agent its own --id",
        options_.broker, options_.id);
    exitCode_ = 2;
  } else if (code == proto::ErrorCode::kNotRegistered) {
    dropSocket("the broker does not know this agent", false);
  }
}

// ---------------------------------------------------------------- jobs

void Agent::Loop::onJob(const proto::Envelope& envelope) {
  auto job = proto::decodeBody<proto::Job>(envelope);
  if (!job) {
    ++malformed_;
    spdlog::warn("bad JOB dropped: {}", job.reason());
    return;
  }
  if (job_ && (job_->slave || job_->job.runId != job->runId)) {
    spdlog::warn("JOB for run {} while busy with run {}: ignored", job->runId, job_->job.runId);
    return;
  }
  proto::Bytes library = std::move(job->library);
  job->library.clear();
  job_ = CurrentJob{std::move(job.value()), nullptr, nullptr};
  if (!library.empty()) {
    std::string error;
    auto path = cache_.store(job_->job.librarySha256, library, error);
    if (!path) return endJob(2, 0, error);
    job_->libraryPath = *path;
  }
  fetchOrStart();
}

// The library, then each data file, from the cache or part by part from the broker (one
// at a time); the slave starts once all are here.
void Agent::Loop::fetchOrStart() {
  const proto::Job& job = job_->job;
  auto fetch = [&](const std::string& sha, const std::string& what) {
    spdlog::info("run {}: {} {} not cached, asking the broker", job.runId, what, sha);
    job_->fetching = sha;
    job_->incoming.clear();
    job_->partTries = 0;
    requestPart();
  };
  if (job_->libraryPath.empty()) {
    auto path = cache_.find(job.librarySha256);
    if (!path) return fetch(job.librarySha256, "library");
    job_->libraryPath = *path;
  }
  std::map<std::string, std::string> files;
  for (const proto::DataFile& file : job.options.files) {
    auto path = cache_.find(file.sha256);
    if (!path && file.size == 0) {  // nothing to fetch: no part can carry 0 bytes
      std::string error;
      path = cache_.store(file.sha256, {}, error);
      if (!path) return endJob(2, 0, error);
    }
    if (!path) return fetch(file.sha256, "data file " + file.name);
    files[file.name] = *path;
  }
  startSlave(files);
}

// The next part of the library: parts are asked for one at a time, so that heartbeats
// never wait behind more than one part on a slow link.
void Agent::Loop::requestPart() {
  ++job_->partTries;
  job_->partDeadline = Clock::now() + kPartTimeout;
  send(proto::NeedLibrary{job_->job.runId, job_->fetching, job_->incoming.size(),
                          proto::kLibraryPartSize});
}

void Agent::Loop::onLibraryPart(const proto::Envelope& envelope) {
  auto part = proto::decodeBody<proto::LibraryPart>(envelope);
  if (!part) {
    ++malformed_;
    spdlog::warn("bad LIBRARY-PART dropped: {}", part.reason());
    return;
  }
  // Only the part asked for counts: a late answer to a repeated request is a duplicate.
  if (!job_ || job_->slave || part->runId != job_->job.runId ||
      part->librarySha256 != job_->fetching || part->offset != job_->incoming.size() ||
      part->bytes.empty()) {
    return;
  }
  if (part->size > kMaxLibrarySize || part->offset + part->bytes.size() > part->size) {
    return endJob(2, 0, "the broker sent a library part that does not fit its size");
  }
  job_->incoming.insert(job_->incoming.end(), part->bytes.begin(), part->bytes.end());
  job_->partTries = 0;
  if (job_->incoming.size() < part->size) return requestPart();
  proto::Bytes library = std::move(job_->incoming);
  job_->incoming.clear();
  std::string error;
  auto path = cache_.store(job_->fetching, library, error);
  if (!path) return endJob(2, 0, error);
  job_->fetching.clear();
  job_->partTries = 0;
  fetchOrStart();
}

void Agent::Loop::checkPartDeadline() {
  if (!job_ || job_->slave || job_->partTries == 0 || Clock::now() < job_->partDeadline) return;
  if (job_->partTries >= kPartTries) {
    return endJob(2, 0,
                  "the test library or a data file did not come from the broker (" +
                      std::to_string(job_->incoming.size()) + " bytes received, then nothing for " +
                      std::to_string(kPartTries) + " requests of " +
                      std::to_string(kPartTimeout.count() / 1000) +
                      " s each): check the link between this agent and the broker");
  }
  spdlog::warn("run {}: library part at byte {} did not come within {} ms: asking again",
               job_->job.runId, job_->incoming.size(), kPartTimeout.count());
  if (registered_) {
    requestPart();
  } else {
    job_->partDeadline = Clock::now() + kPartTimeout;  // asked again once registered
  }
}

void Agent::Loop::startSlave(const std::map<std::string, std::string>& files) {
  const std::string& libraryPath = job_->libraryPath;
  const proto::Job& job = job_->job;
  const proto::JobOptions& o = job.options;
  std::vector<std::string> argv = slaveCommandLine(options_.slaveBinary, libraryPath, job, files);
  RingedSlaveOptions ringed;
  if (!job.resultsCurve.empty()) {  // for a runner that sends its own results (§10)
    ringed.environment.push_back(std::string(kResultsSecretVariable) + "=" +
                                 job.resultsCurve.clientSecret);
  }
  // loads-slave records into the ring and this agent forwards (PROTOCOL.md §10): what it
  // recorded reaches the master even when the test code crashes it.
  ringed.argv = std::move(argv);
  ringed.threads = o.threads;
  ringed.forward = {job.resultsEndpoint, job.runId, options_.id, job.resultsCurve};
  ringed.names[libraryPath] = job.libraryName;
  try {
    job_->ringed = std::make_unique<RingedSlave>(std::move(ringed));
    job_->slave = &job_->ringed->process();
  } catch (const std::exception& e) {
    return endJob(-1, 0, e.what());
  }
  spdlog::info("run {}: slave pid {} started (agent {} of {}, {} users in total)", job.runId,
               job_->slave->pid(), job.index + 1, job.count, o.users);
}

void Agent::Loop::onStop(const proto::Envelope& envelope) {
  auto stop = proto::decodeBody<proto::Stop>(envelope);
  if (!stop) return;
  if (!job_ || job_->job.runId != stop->runId) {
    spdlog::info("STOP for run {}, which this agent is not running: ignored", stop->runId);
    return;
  }
  if (!job_->slave) return endJob(0, 0, "stopped");
  spdlog::info("run {}: stopping slave pid {} (SIGKILL in {} ms)", stop->runId, job_->slave->pid(),
               options_.stopGrace.count());
  job_->slave->stop(options_.stopGrace);
}

// Passes the new split to the slave, which alone knows where its run is.
void Agent::Loop::onRebalance(const proto::Envelope& envelope) {
  auto rebalance = proto::decodeBody<proto::Rebalance>(envelope);
  if (!rebalance) {
    ++malformed_;
    spdlog::warn("bad REBALANCE dropped: {}", rebalance.reason());
    return;
  }
  if (!job_ || !job_->slave || job_->job.runId != rebalance->runId) {
    spdlog::info("REBALANCE for run {}, which this agent's slave is not running: ignored",
                 rebalance->runId);
    return;
  }
  for (const auto& share : rebalance->shares) {
    if (share.agentId != options_.id) continue;
    const std::string line = rebalanceLine(share.index, rebalance.value());
    spdlog::info("run {}: {} lost, now share {} of {} from {} ms", rebalance->runId,
                 rebalance->lost, share.index + 1, rebalance->count, rebalance->fromMs);
    if (!job_->slave->control(line))
      spdlog::warn("run {}: the slave did not take '{}'", rebalance->runId, line);
    return;
  }
  spdlog::warn("REBALANCE for run {} does not list this agent: ignored", rebalance->runId);
}

void Agent::Loop::checkSlave() {
  if (!job_ || !job_->slave) return;
  auto exit = job_->ringed->poll();
  if (!exit) return;
  if (const auto& crash = job_->ringed->crash()) {
    spdlog::warn("run {}: the slave was {}", job_->job.runId, crash->description);
  }
  forwarding_.push_back(job_->ringed->releaseForwarder());
  endJob(exit->exitCode, exit->signal, exit->reason);
}

void Agent::Loop::endJob(int exitCode, int signal, std::string reason) {
  const std::string runId = job_->job.runId;
  spdlog::info("run {}: job ended, exit code {}, signal {}{}{}", runId, exitCode, signal,
               reason.empty() ? "" : ": ", reason);
  proto::JobEnded ended{runId, exitCode, signal, std::move(reason)};
  if (registered_) {
    send(ended);
    unconfirmed_ = std::move(ended);
  } else {
    spdlog::warn("run {}: not registered with a broker, JOB-ENDED sent once registered", runId);
    unreported_ = std::move(ended);
  }
  job_.reset();
}

// ---------------------------------------------------------------- timers

void Agent::Loop::onTimers() {
  checkPartDeadline();
  std::erase_if(forwarding_, [](const auto& f) { return !f || f->done(); });
  if (!socket_) return;
  const auto now = Clock::now();
  if (now - lastHeard_ > heartbeat_ * liveness_) {
    dropSocket(
        "no word from the broker for " + std::to_string((heartbeat_ * liveness_).count()) + " ms",
        true);
    return;
  }
  if (registered_ && now >= nextHeartbeat_) {
    send(proto::Heartbeat{});
    nextHeartbeat_ = now + heartbeat_;
  }
}

void Agent::Loop::shutdown() {
  if (job_ && job_->slave) {
    job_->slave->stop(options_.stopGrace);
    const auto deadline = Clock::now() + options_.stopGrace + milliseconds(2000);
    while (job_ && Clock::now() < deadline) {
      checkSlave();
      if (job_) std::this_thread::sleep_for(milliseconds(20));  // poll the child's exit
    }
  } else if (job_) {
    endJob(0, 0, "stopped");
  }
  for (auto& f : forwarding_) {
    if (f) f->join();  // bounded by the forwarder's finish timeout
  }
  forwarding_.clear();
  if (registered_) send(proto::Disconnect{"agent shutting down"});
  if (socket_) {
    socket_->set(zmq::sockopt::linger, 500);
    socket_.reset();
  }
  spdlog::info("loads-agent {} stopped", options_.id);
}

// ---------------------------------------------------------------- Agent

Agent::Agent(AgentOptions options) : loop_(std::make_unique<Loop>(std::move(options))) {}
Agent::~Agent() = default;
int Agent::run() { return loop_->run(); }
void Agent::stop() { loop_->requestStop(); }
const std::string& Agent::id() const { return loop_->id(); }

}  // namespace loads::agent
