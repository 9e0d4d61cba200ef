// End-to-end WebSocket tests: the real loads-master runs tests/libs/ws.cpp against the
// example target's /ws/echo and against websocketd (a server nobody here wrote). Every
// message sent must be echoed, and the report must say exactly what the server saw.
#include <stdlib.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <thread>

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

int freePort() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor a(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
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

}  // namespace

TEST_CASE("e2e: messages sent equal messages the target echoed, exactly") {
  TargetProcess target;
  std::string report = tempPath("ws.json");
  auto r = runMaster({kWs, "--test", "Ws", "-u", "4", "--hits", "6", "--server-url",
                      target.url(), "--json", report, "--quiet"});
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

// websocketd (Debian package; scripts/setup.sh installs it) runs `cat` per connection:
// each text message goes in as a line and comes back as a message.
TEST_CASE("e2e: against websocketd, every message comes back") {
  std::string websocketd = findProgram("websocketd");
  if (websocketd.empty()) FAIL("websocketd is not installed: run scripts/setup.sh");
  int port = freePort();
  Process server({websocketd, "--address=127.0.0.1", "--port=" + std::to_string(port),
                  "--loglevel=error", findProgram("cat")});
  bool up = false;
  for (int i = 0; i < 100 && !(up = listening(port)); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  INFO(server.err());
  REQUIRE(up);  // websocketd not listening: this test fails, never skips

  std::string report = tempPath("websocketd.json");
  ::setenv("LOADS_WS_PATH", "/", 1);
  auto r = runMaster({kWs, "--test", "Ws.test_echo", "--test", "Ws.test_callback", "-u", "3",
                      "--hits", "4", "--server-url", "http://127.0.0.1:" + std::to_string(port),
                      "--json", report, "--quiet"});
  ::unsetenv("LOADS_WS_PATH");
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  json j = readJson(report);
  const json& k = j["sockets"];
  CHECK(k["messagesSent"] == 3 * 4 * 5);
  CHECK(k["messagesReceived"] == k["messagesSent"]);
  CHECK(k["opened"] == 3);
  CHECK(k["closed"] == 3);
  CHECK(k["failed"] == 0);
  CHECK(requestNamed(j, "WS /")["requests"] == 3);
  CHECK(j["summary"]["testFailures"] == 0);
  CHECK(j["summary"]["testErrors"] == 0);
}
