// End-to-end WebSocket tests: the real loads-master runs tests/libs/ws.cpp against the
// example target's /ws/echo and against websocketd (a server nobody here wrote). Every
// message sent must be echoed, and the report must say exactly what the server saw.
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <memory>
#include <thread>

#include "support/cluster.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using nlohmann::json;

namespace {

const std::string kWs = built("tests/libs/libws.so");

const json& requestNamed(const json& report, const std::string& name) {
  for (const auto& r : report["requests"]) {
    if (r["name"] == name) return r;
  }
  FAIL("no request " << name << " in the report");
  throw std::logic_error("unreachable");
}

// The program's path from $PATH; "" when it is not installed.
std::string findProgram(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (std::size_t start = 0; start <= dirs.size();) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

bool listening(int port) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket s(io);
  boost::system::error_code ec;
  s.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  return !ec;
}

// websocketd (Debian package; scripts/setup.sh installs it) on a free loopback port,
// running `cat` per connection: each text message goes in as a line and comes back as
// a message. Fails the test, never skips, when it is missing or does not listen.
struct Websocketd {
  int port = freePort();
  std::unique_ptr<Process> server;
  Websocketd() {
    const std::string websocketd = findProgram("websocketd");
    if (websocketd.empty()) FAIL("websocketd is not installed: run scripts/setup.sh");
    server = std::make_unique<Process>(std::vector<std::string>{
        websocketd, "--address=127.0.0.1", "--port=" + std::to_string(port), "--loglevel=error",
        findProgram("cat")});
    INFO(server->err());
    REQUIRE(eventually([&] { return listening(port); }, std::chrono::seconds(5)));
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
};

// A websocketd run of Ws.test_echo and Ws.test_callback: `users` users of `hits` hits, 5
// messages a hit, each echoed (websocketd's cat returns every line): received equals
// sent exactly, one socket per user kept across its hits.
void checkAllEchoed(const json& j, int users, int hits) {
  const json& k = j["sockets"];
  CHECK(k["messagesSent"] == users * hits * 5);
  CHECK(k["messagesReceived"] == k["messagesSent"]);
  CHECK(k["bytesReceived"] == k["bytesSent"]);
  CHECK(k["opened"] == users);
  CHECK(k["closed"] == users);
  CHECK(k["failed"] == 0);
  CHECK(requestNamed(j, "WS /")["requests"] == users);
  CHECK(j["summary"]["testFailures"] == 0);
  CHECK(j["summary"]["testErrors"] == 0);
}

// libws reads the WebSocket path from LOADS_WS_PATH (websocketd serves "/"); processes
// started while this lives (agents and their slaves) inherit it.
struct WsPathAtRoot {
  WsPathAtRoot() { ::setenv("LOADS_WS_PATH", "/", 1); }
  ~WsPathAtRoot() { ::unsetenv("LOADS_WS_PATH"); }
};

}  // namespace

TEST_CASE("e2e: messages sent equal messages the target echoed, exactly") {
  TargetProcess target;
  std::string report = tempPath("ws.json");
  auto r = runMaster({kWs, "--test", "Ws", "-u", "4", "--hits", "6", "--server-url", target.url(),
                      "--json", report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  json j = readJson(report);
  json stats = target.stats();
  const json& k = j["sockets"];
  // 4 users spread over 3 tests, 6 hits each, 5 messages a hit
  CHECK(k["messagesSent"] == 120);
  CHECK(k["messagesSent"] == stats["ws"]["messages"]);
  CHECK(k["messagesReceived"] == k["messagesSent"]);
  CHECK(k["bytesReceived"] == k["bytesSent"]);
  CHECK(k["bytesSent"] == stats["ws"]["bytes"]);
  // test_echo and test_callback keep one socket per user across hits (closed when the
  // user ends); test_binary opens and closes one per hit.
  CHECK(k["opened"] == stats["ws"]["opened"]);
  CHECK(k["opened"] == k["closed"]);
  CHECK(k["failed"] == 0);
  CHECK(requestNamed(j, "WS /ws/echo")["requests"] == k["opened"]);
  CHECK(j["summary"]["requests"] == stats["served"]);
  CHECK(j["summary"]["testFailures"] == 0);
  CHECK(j["summary"]["testErrors"] == 0);
  CHECK(r.out.find("WebSockets") != std::string::npos);
  CHECK(r.out.find("WS /ws/echo") != std::string::npos);
}

TEST_CASE("e2e: a timed WebSocket run echoes every message it sent") {
  TargetProcess target;
  std::string report = tempPath("ws-timed.json");
  auto r = runMaster({kWs, "--test", "Ws.test_echo", "-u", "8", "-d", "2s", "--server-url",
                      target.url(), "--json", report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  json j = readJson(report);
  json stats = target.stats();
  CHECK(j["sockets"]["messagesSent"].get<std::uint64_t>() > 100);
  CHECK(j["sockets"]["messagesSent"] == stats["ws"]["messages"]);
  CHECK(j["sockets"]["messagesReceived"] == stats["ws"]["messages"]);
  CHECK(j["sockets"]["opened"] == 8);
  CHECK(j["sockets"]["closed"] == 8);
  CHECK(j["sockets"]["failed"] == 0);
  CHECK(stats["ws"]["closed"] == 8);
}

TEST_CASE("e2e: against websocketd, every message comes back") {
  Websocketd server;
  std::string report = tempPath("websocketd.json");
  Completed r;
  {
    WsPathAtRoot path;
    r = runMaster({kWs, "--test", "Ws.test_echo", "--test", "Ws.test_callback", "-u", "3", "--hits",
                   "4", "--server-url", server.url(), "--json", report, "--quiet"});
  }
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  checkAllEchoed(readJson(report), 3, 4);
}

TEST_CASE("e2e: against websocketd over a broker and two agents, every message comes back") {
  Websocketd server;
  WsPathAtRoot path;  // before the agents start: their slaves inherit it
  Cluster cluster(2);
  const std::string report = cluster.dir + "/websocketd.json";
  auto r = runCommand({built("master/loads-master"), "--broker", cluster.frontend, kWs, "--test",
                       "Ws.test_echo", "--test", "Ws.test_callback", "--agents", "2", "-u", "5",
                       "--hits", "4", "--server-url", server.url(), "--json", report, "-q"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  json j = readJson(report);
  checkAllEchoed(j, 5, 4);  // 3 users on one agent, 2 on the other
  REQUIRE(j["agents"].size() == 2);
  for (const auto& agent : j["agents"]) {
    CHECK(agent["events_sent"] == agent["events_received"]);
    CHECK(agent["hits"].get<std::uint64_t>() > 0);
  }
  CHECK(j["problems"].empty());
  CHECK_THAT(r.out, Catch::Contains("WebSockets"));
}
