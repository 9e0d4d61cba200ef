// CURVE on every socket (PROTOCOL.md §9) end to end on loopback: loads-keys, the
// secure-by-default refusals, a broker that refuses unknown keys, a secured run whose
// capture (tcpdump on lo) holds no plaintext while an --insecure run's does.
#include <signal.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "support/cluster.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using namespace std::chrono_literals;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Key files made by the real loads-keys, in a fresh directory: masters/master,
// agents/agent-0, agents/agent-1, broker, and others/stranger.
struct Fleet {
  std::string dir = tempPath("keys-" + std::to_string(freePort()));
  Fleet() {
    for (const auto& [sub, names] : std::vector<std::pair<std::string, std::vector<std::string>>>{
             {"", {"broker"}},
             {"masters", {"master"}},
             {"agents", {"agent-0", "agent-1"}},
             {"others", {"stranger"}}}) {
      std::vector<std::string> argv{built("security/loads-keys"), "--dir", dir + "/" + sub};
      argv.insert(argv.end(), names.begin(), names.end());
      auto made = runCommand(argv, 20s);
      INFO(made.err);
      REQUIRE(made.code == 0);
    }
  }
  ~Fleet() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string key(const std::string& name) const { return path(name) + ".key"; }
  std::string publicKey(const std::string& name) const {
    const std::string text = readFile(path(name) + ".pub");
    const auto at = text.find("public-key = ");
    return at == std::string::npos ? "" : text.substr(at + 13, 40);
  }
  std::string path(const std::string& name) const {
    const std::string sub = name == "broker"     ? ""
                            : name == "master"   ? "masters/"
                            : name == "stranger" ? "others/"
                                                 : "agents/";
    return dir + "/" + sub + name;
  }
  ClusterArgs args() const {
    ClusterArgs a;
    a.broker = {"--key",          key("broker"),    "--allow-masters",
                dir + "/masters", "--allow-agents", dir + "/agents"};
    a.agent = [this](int i) {
      return std::vector<std::string>{"--key", key("agent-" + std::to_string(i)), "--broker-key",
                                      path("broker") + ".pub"};
    };
    a.master = {"--key", key("master"), "--broker-key", path("broker") + ".pub"};
    return a;
  }
};

Completed pingAs(const Cluster& cluster, std::vector<std::string> keys) {
  std::vector<std::string> argv{built("master/loads-master"), "--broker", cluster.frontend,
                                "--ping"};
  argv.insert(argv.end(), keys.begin(), keys.end());
  return runCommand(argv, 30s);
}

// tcpdump on lo, on the given ports only (other tests run at the same time), into `file`.
class Capture {
 public:
  Capture(const std::string& file, const std::vector<int>& ports) : file_(file) {
    std::string filter;
    for (int port : ports)
      filter += (filter.empty() ? "" : " or ") + ("tcp port " + std::to_string(port));
    process_ = std::make_unique<Process>(std::vector<std::string>{
        "/bin/sh", "-c",
        "exec tcpdump -Z root -i lo -n -U -s 0 -B 65536 -w '" + file + "' '" + filter + "' 2>&1"});
    for (auto line = process_->readLine(10s); line; line = process_->readLine(10s)) {
      if (line->find("listening on") != std::string::npos) return;
    }
    FAIL("tcpdump did not start (is it installed, and are we root?): " << process_->out());
  }
  // Stops tcpdump (it flushes on SIGINT) and returns the capture's bytes. A 64 MiB buffer
  // (-B) keeps the kernel from dropping packets while a loaded machine starves tcpdump.
  std::string stop() {
    process_->signal(SIGINT);
    REQUIRE(process_->wait(10s));
    return readFile(file_);
  }

 private:
  std::string file_;
  std::unique_ptr<Process> process_;
};

// 48 bytes from the middle of the library with many distinct values (not padding).
std::string libraryChunk(const std::string& library) {
  for (std::size_t at = library.size() / 3; at + 48 < library.size(); at += 61) {
    const std::string chunk = library.substr(at, 48);
    if (std::set<char>(chunk.begin(), chunk.end()).size() >= 24) return chunk;
  }
  FAIL("no distinctive chunk in the library");
  return "";
}

struct CapturedRun {
  std::string capture;
  std::string serverUrl;
  std::uint64_t served = 0, requests = 0;
};

// A 2-agent run of the blog example under tcpdump, secured with `fleet`'s keys or not.
CapturedRun capturedRun(const Fleet* fleet) {
  ClusterArgs args = fleet ? fleet->args() : ClusterArgs{};
  if (!fleet) {
    args.broker = {"--insecure"};
    args.agent = [](int) { return std::vector<std::string>{"--insecure"}; };
    args.master = {"--insecure"};
  }
  args.frontendPort = freePort();
  args.backendPort = freePort();
  const int resultsPort = freePort();
  Capture capture(tempPath("capture-" + std::to_string(resultsPort) + ".pcap"),
                  {args.frontendPort, args.backendPort, resultsPort});
  Cluster cluster(2, args);
  const std::string json = cluster.dir + "/report.json";
  auto run = runCommand(
      cluster.master({"--agents", "2", "-u", "4", "--hits", "10", "--json", json, "--results-bind",
                      "tcp://127.0.0.1:" + std::to_string(resultsPort)}),
      120s);
  INFO(run.out << run.err);
  REQUIRE(run.code == 0);
  CapturedRun result;
  result.served = cluster.served();
  result.requests = readJson(json)["summary"]["requests"].get<std::uint64_t>();
  result.serverUrl = "http://127.0.0.1:" + std::to_string(cluster.targetPort);
  result.capture = capture.stop();
  return result;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("loads-keys writes NAME.key (mode 0600) and NAME.pub, and never overwrites a key") {
  const std::string dir = tempPath("loads-keys-" + std::to_string(freePort()));
  auto made = runCommand({built("security/loads-keys"), "--dir", dir, "one", "two"}, 20s);
  INFO(made.err);
  REQUIRE(made.code == 0);
  struct stat st {};
  REQUIRE(::stat((dir + "/one.key").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  const std::string key = readFile(dir + "/one.key"), pub = readFile(dir + "/one.pub");
  const auto publicLine = pub.substr(pub.find("public-key = "), 13 + 40);
  CHECK(contains(key, publicLine));
  CHECK(contains(key, "secret-key = "));
  CHECK_FALSE(contains(pub, "secret-key"));
  CHECK(readFile(dir + "/two.pub") != pub);

  auto again = runCommand({built("security/loads-keys"), "--dir", dir, "one"}, 20s);
  CHECK(again.code == 2);
  CHECK_THAT(again.err, Catch::Contains("exists already"));
  CHECK(readFile(dir + "/one.key") == key);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "without keys a non-loopback bind or connect is refused with exit 2 and how to make keys") {
  const std::string port = std::to_string(freePort());
  // tcp://lo:PORT binds the loopback interface by name; [::ffff:127.0.0.1] is loopback
  // too. Neither is on the list the rule trusts, so nothing here leaves the machine.
  const std::string bindNic = "tcp://lo:" + port,
                    connectMapped = "tcp://[::ffff:127.0.0.1]:" + port;
  const std::string lib = built("examples/blog/libblog.so");
  const std::vector<std::vector<std::string>> refused = {
      {built("broker/loads-broker"), "--frontend", bindNic},
      {built("broker/loads-broker"), "--backend", bindNic},
      {built("agent/loads-agent"), "--broker", connectMapped},
      {built("master/loads-master"), "--ping", "--broker", connectMapped},
      {built("master/loads-master"), lib, "--agents", "1", "--broker", connectMapped},
      {built("master/loads-master"), lib, "--agents", "1", "--results-bind", "tcp://lo:*"},
  };
  for (const auto& argv : refused) {
    auto r = runCommand(argv, 20s);
    INFO(argv[0] << " " << argv[1] << " " << argv[2] << ": " << r.err);
    CHECK(r.code == 2);
    CHECK_THAT(r.err, Catch::Contains("without CURVE keys") && Catch::Contains("loads-keys") &&
                          Catch::Contains("--insecure"));
    CHECK(countLines(r.err, "loads-") == 1);
  }

  SECTION("--insecure lets the broker bind it, with a warning") {
    Process broker({built("broker/loads-broker"), "--frontend", bindNic, "--backend",
                    "tcp://127.0.0.1:" + std::to_string(freePort()), "--insecure"});
    auto ping = runCommand(
        {built("master/loads-master"), "--ping", "--broker", "tcp://127.0.0.1:" + port}, 20s);
    CHECK(ping.code == 0);
    broker.signal(SIGTERM);
    REQUIRE(broker.wait(10s));
    CHECK_THAT(broker.err(), Catch::Contains("WARNING: --insecure"));
  }
}

TEST_CASE("a secured broker refuses unknown keys on both sockets and logs each one") {
  Fleet fleet;
  Cluster cluster(1, fleet.args());
  CHECK(pingAs(cluster, fleet.args().master).code == 0);

  const std::string brokerPub = fleet.path("broker") + ".pub";
  SECTION("an unknown key, an agent's key and no key cannot use the frontend") {
    for (const std::string name : {"stranger", "agent-0"}) {
      auto r = pingAs(cluster, {"--key", fleet.key(name), "--broker-key", brokerPub});
      INFO(r.err);
      CHECK(r.code == 3);
      CHECK_THAT(r.err, Catch::Contains("no broker answered") && Catch::Contains("--broker-key"));
      const std::string key = fleet.publicKey(name);
      CHECK(eventually(
          [&] {
            cluster.broker->readLine(10ms);
            return countLines(cluster.broker->out(), key) >= 1;
          },
          5s));
      CHECK(countLines(cluster.broker->out(), "refused CURVE client key " + key + " on masters") >=
            1);
    }
    CHECK(pingAs(cluster, {}).code == 3);
  }
  SECTION("an unknown key and a master's key cannot register as agents") {
    for (const std::string name : {"stranger", "master"}) {
      Process agent({built("agent/loads-agent"), "--broker", cluster.backend, "--id", "impostor",
                     "--cache-dir", cluster.dir + "/impostor", "--key", fleet.key(name),
                     "--broker-key", brokerPub});
      const std::string key = fleet.publicKey(name);
      CHECK(eventually(
          [&] {
            cluster.broker->readLine(10ms);
            return countLines(cluster.broker->out(),
                              "refused CURVE client key " + key + " on agents") >= 1;
          },
          10s));
      // The real agent may be lost and back on a loaded machine: only it is ever seen.
      CHECK(eventually([&] { return cluster.agentsIn("idle") == 1; }, 10s));
      const auto ping = cluster.ping();
      INFO(ping.out << ping.err);
      CHECK(countLines(ping.out, "impostor") == 0);
    }
  }
}

TEST_CASE("a secured run is exact and its capture holds no plaintext, an --insecure run's does") {
  const std::string library = readFile(built("examples/blog/libblog.so"));
  const std::string chunk = libraryChunk(library);
  Fleet fleet;
  const CapturedRun secured = capturedRun(&fleet);
  CHECK(secured.served == 4 * 10);
  CHECK(secured.requests == secured.served);
  // The library crossed three times (master to broker, broker to each agent): the capture
  // holds at least one crossing's worth even if a loaded kernel dropped some packets.
  CHECK(secured.capture.size() > library.size());
  CHECK_FALSE(contains(secured.capture, "test_home"));
  CHECK_FALSE(contains(secured.capture, secured.serverUrl));
  CHECK_FALSE(contains(secured.capture, chunk));

  const CapturedRun plain = capturedRun(nullptr);
  CHECK(plain.requests == plain.served);
  CHECK(contains(plain.capture, "test_home"));
  CHECK(contains(plain.capture, plain.serverUrl));
  CHECK(contains(plain.capture, chunk));
}
