// WebSocket client against the in-process TargetServer's /ws/echo: every socket runs in
// a real virtual-user coroutine (asio::spawn) and every event reported to the
// TestResult is checked, as are the server's own counts.
#include "loads/websocket.hpp"

#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "client/websocket_client.hpp"
#include "loads/test_case.hpp"
#include "run/current_user.hpp"
#include "run/user_context.hpp"
#include "target_server.hpp"

namespace asio = boost::asio;
using loads::Direction;
using loads::ErrorKind;
using loads::RequestError;
using loads::WebSocket;
using loads::WebSocketClosed;
using loads::WsMessage;
using loads::WsOptions;
using loads::examples::TargetOptions;
using loads::examples::TargetServer;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

struct RecordedHit {
  std::string name, url, method;
  int status = 0;
  ErrorKind error = ErrorKind::kNone;
  std::int64_t elapsedUs = 0;
  std::uint64_t bytes = 0;
};
struct RecordedMessage {
  std::string url;
  Direction direction;
  std::uint64_t size;
};
struct RecordedClose {
  std::string url;
  int code;
  std::string reason;
  bool clean;
};

class RecordingResult : public loads::TestResult {
 public:
  void addHit(const loads::Hit& h, const loads::LoadsStatus&) override {
    hits.push_back({std::string(h.name), std::string(h.url), std::string(h.method), h.status,
                    h.error, h.elapsedUs, h.bytes});
  }
  void socketOpen(std::string_view url, const loads::LoadsStatus&) override {
    opens.emplace_back(url);
  }
  void socketMessage(std::string_view url, Direction d, std::uint64_t size,
                     const loads::LoadsStatus&) override {
    messages.push_back({std::string(url), d, size});
  }
  void socketClose(std::string_view url, const loads::SocketClose& c,
                   const loads::LoadsStatus&) override {
    closes.push_back({std::string(url), c.code, std::string(c.reason), c.clean});
  }
  std::size_t count(Direction d) const {
    std::size_t n = 0;
    for (const auto& m : messages) n += m.direction == d;
    return n;
  }
  std::vector<RecordedHit> hits;
  std::vector<std::string> opens;
  std::vector<RecordedMessage> messages;
  std::vector<RecordedClose> closes;
};

// One virtual user on its own io_context, plus an observer user that reads /stats.
struct Harness {
  explicit Harness(loads::detail::UserSettings s = {}) : settings(std::move(s)) {
    tls.set_default_verify_paths();
  }

  void run(const std::function<void()>& body) {
    std::exception_ptr error;
    loads::detail::spawnUser(io, [&](loads::detail::Yield yield) {
      user.yield = &yield;
      observer.yield = &yield;
      try {
        body();
      } catch (...) {
        error = std::current_exception();
      }
      user.yield = observer.yield = nullptr;
    });
    io.run();
    io.restart();
    if (error) std::rethrow_exception(error);
  }

  template <class E = RequestError>
  E runExpecting(const std::function<void()>& body) {
    try {
      run(body);
    } catch (const E& e) {
      return e;
    }
    FAIL("the expected exception was not raised");
    throw std::logic_error("unreachable");
  }

  std::shared_ptr<WebSocket> open(const std::string& url, loads::WsCallback cb = {},
                                  const WsOptions& o = {}) {
    return loads::detail::openWebSocket(user, url, std::move(cb), o);
  }
  void pause(std::chrono::milliseconds d) {
    asio::steady_timer t(io, d);
    t.async_wait((*user.yield));
  }
  json stats(const TargetServer& server) {
    return observerSession.get(server.url() + "/stats").json();
  }
  // The server counts a session's end a little after the client's close completes.
  json statsWhenClosed(const TargetServer& server, std::uint64_t closed) {
    json s;
    for (int i = 0; i < 100; ++i) {
      s = stats(server);
      if (s["ws"]["closed"] == closed) break;
      pause(10ms);
    }
    return s;
  }

  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  loads::detail::UserSettings settings;
  loads::detail::DnsCache dns;
  RecordingResult result;
  RecordingResult observed;
  loads::detail::UserContext user{io, result, settings, tls, dns};
  loads::detail::UserContext observer{io, observed, settings, tls, dns};
  loads::Session observerSession{observer};
};

std::string wsUrl(const TargetServer& server, const std::string& path = "/ws/echo") {
  std::string u = server.url();
  return (u.starts_with("https") ? "wss" + u.substr(5) : "ws" + u.substr(4)) + path;
}

int shell(const std::string& command) { return std::system(command.c_str()); }

}  // namespace

TEST_CASE("text and binary messages are echoed and every event is reported", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  std::string url = wsUrl(server);
  std::optional<WsMessage> text, binary;
  json stats;
  h.run([&] {
    auto ws = h.open(url);
    CHECK(ws->isOpen());
    ws->send("hello");
    text = ws->receive(2s);
    ws->sendBinary(std::string("\x00\x01\xff", 3));
    binary = ws->receive(2s);
    ws->close(1000, "done");
    CHECK_FALSE(ws->isOpen());
    stats = h.statsWhenClosed(server, 1);
  });
  REQUIRE(text);
  CHECK(text->data == "hello");
  CHECK_FALSE(text->binary);
  REQUIRE(binary);
  CHECK(binary->data == std::string("\x00\x01\xff", 3));
  CHECK(binary->binary);

  REQUIRE(h.result.hits.size() == 1);
  const auto& hit = h.result.hits[0];
  CHECK(hit.method == "WS");
  CHECK(hit.name == "WS /ws/echo");
  CHECK(hit.url == url);
  CHECK(hit.status == 101);
  CHECK(hit.error == ErrorKind::kNone);
  CHECK(hit.bytes > 100);  // the 101 response head
  CHECK(h.result.opens == std::vector<std::string>{url});
  REQUIRE(h.result.messages.size() == 4);
  CHECK(h.result.messages[0].direction == Direction::kSent);
  CHECK(h.result.messages[0].size == 5);
  CHECK(h.result.messages[1].direction == Direction::kReceived);
  CHECK(h.result.messages[1].size == 5);
  CHECK(h.result.messages[3].size == 3);
  REQUIRE(h.result.closes.size() == 1);
  CHECK(h.result.closes[0].code == 1000);
  CHECK(h.result.closes[0].reason == "done");
  CHECK(h.result.closes[0].clean);
  CHECK(stats["ws"]["opened"] == 1);
  CHECK(stats["ws"]["messages"] == 2);
  CHECK(stats["ws"]["bytes"] == 8);
  CHECK(stats["ws"]["closed"] == 1);
  CHECK(stats["paths"]["/ws/echo"] == 1);
}

TEST_CASE("the callback sees every message, consumed ones are not queued", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  std::vector<std::string> seen;
  std::optional<WsMessage> received;
  std::size_t queuedAfterSleep = 0;
  h.run([&] {
    auto ws = h.open(wsUrl(server), [&](const WsMessage& m) {
      seen.push_back(m.data);
      return m.data.starts_with("skip");
    });
    ws->send("skip 1");
    ws->send("keep");
    ws->send("skip 2");
    h.pause(200ms);  // messages arrive while the user does something else
    queuedAfterSleep = ws->queued();
    received = ws->receive(1s);
    CHECK_FALSE(ws->receive(50ms));
  });
  CHECK(seen == std::vector<std::string>{"skip 1", "keep", "skip 2"});
  CHECK(queuedAfterSleep == 1);
  REQUIRE(received);
  CHECK(received->data == "keep");
  CHECK(h.result.count(Direction::kReceived) == 3);
  REQUIRE(h.result.closes.size() == 1);  // closed (1000) when the last handle went
  CHECK(h.result.closes[0].code == 1000);
  CHECK(h.result.closes[0].clean);
}

TEST_CASE("the callback may not do I/O, what it throws comes out of the next call", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  SECTION("an assertion in the callback") {
    auto e = h.runExpecting<std::runtime_error>([&] {
      auto ws = h.open(wsUrl(server),
                       [](const WsMessage&) -> bool { throw std::runtime_error("bad message"); });
      ws->send("x");
      h.pause(100ms);
      ws->send("y");
    });
    CHECK(std::string(e.what()) == "bad message");
  }
  SECTION("a send from the callback") {
    std::string error;
    h.run([&] {
      std::shared_ptr<WebSocket> ws;
      ws = h.open(wsUrl(server), [&ws](const WsMessage&) {
        ws->send("again");
        return true;
      });
      ws->send("x");
      try {
        ws->receive(500ms);
      } catch (const std::logic_error& e) {
        error = e.what();
      }
      ws.reset();
    });
    CHECK(error.find("callback") != std::string::npos);
    CHECK(h.result.count(Direction::kSent) == 1);
  }
}

TEST_CASE("receive times out with nullopt and the socket stays usable", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  std::optional<WsMessage> none, echo;
  std::chrono::steady_clock::duration took{};
  h.run([&] {
    auto ws = h.open(wsUrl(server));
    auto t0 = std::chrono::steady_clock::now();
    none = ws->receive(150ms);
    took = std::chrono::steady_clock::now() - t0;
    ws->send("still here");
    echo = ws->receive(2s);
  });
  CHECK_FALSE(none);
  CHECK(took >= 140ms);
  CHECK(took < 1s);
  REQUIRE(echo);
  CHECK(echo->data == "still here");
}

TEST_CASE("a close by the server is clean, with its code, later calls throw", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  std::optional<WsMessage> echo;
  auto e = h.runExpecting<WebSocketClosed>([&] {
    auto ws = h.open(wsUrl(server, "/ws/echo?close_after=1&code=4001"));
    ws->send("one");
    echo = ws->receive(2s);
    ws->receive(2s);  // the server closes now
  });
  REQUIRE(echo);
  CHECK(e.code() == 4001);
  CHECK(e.kind() == ErrorKind::kNone);
  REQUIRE(h.result.closes.size() == 1);
  CHECK(h.result.closes[0].code == 4001);
  CHECK(h.result.closes[0].reason == "bye");
  CHECK(h.result.closes[0].clean);
  SECTION("send on the closed socket throws too") {
    std::shared_ptr<WebSocket> ws;
    h.run([&] {
      ws = h.open(wsUrl(server, "/ws/echo?close_after=0&code=1001"));
      CHECK_THROWS_AS(ws->receive(2s), WebSocketClosed);
      CHECK_THROWS_AS(ws->send("late"), WebSocketClosed);
      ws->close();  // a no-op
      ws.reset();
    });
    CHECK(h.result.closes.size() == 2);
    CHECK(h.result.closes[1].code == 1001);
  }
}

TEST_CASE("a user holds several sockets at once", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  json stats;
  h.run([&] {
    std::vector<std::shared_ptr<WebSocket>> sockets;
    for (int i = 0; i < 3; ++i) sockets.push_back(h.open(wsUrl(server)));
    for (int round = 0; round < 4; ++round)
      for (int i = 0; i < 3; ++i) sockets[i]->send(std::to_string(i) + ":" + std::to_string(round));
    for (int round = 0; round < 4; ++round) {
      for (int i = 0; i < 3; ++i) {
        auto m = sockets[i]->receive(2s);
        REQUIRE(m);
        CHECK(m->data == std::to_string(i) + ":" + std::to_string(round));
      }
    }
    sockets.clear();
    stats = h.statsWhenClosed(server, 3);
  });
  CHECK(h.result.opens.size() == 3);
  CHECK(h.result.count(Direction::kSent) == 12);
  CHECK(h.result.count(Direction::kReceived) == 12);
  CHECK(h.result.closes.size() == 3);
  CHECK(stats["ws"]["messages"] == 12);
  CHECK(stats["ws"]["closed"] == 3);
}

TEST_CASE("a full queue pauses reading until receive() takes messages, none is lost", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  WsOptions o;
  o.queueLimit = 2;
  std::size_t queued = 0;
  std::vector<std::string> got;
  h.run([&] {
    auto ws = h.open(wsUrl(server), {}, o);
    for (int i = 0; i < 6; ++i) ws->send(std::to_string(i));
    h.pause(200ms);
    queued = ws->queued();
    for (int i = 0; i < 6; ++i) {
      auto m = ws->receive(2s);
      REQUIRE(m);
      got.push_back(m->data);
    }
  });
  CHECK(queued == 2);
  CHECK(got == std::vector<std::string>{"0", "1", "2", "3", "4", "5"});
  CHECK(h.result.count(Direction::kReceived) == 6);
}

TEST_CASE("subprotocols, extra headers and the hit name are sent", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  WsOptions o;
  o.subprotocols = {"chat.v2", "chat.v1"};
  o.headers = {{"Authorization", "Bearer x"}};
  o.name = "chat socket";
  h.run([&] {
    auto ws = h.open(wsUrl(server), {}, o);
    CHECK(ws->protocol() == "chat.v2");  // the target picks the first offered
  });
  REQUIRE(h.result.hits.size() == 1);
  CHECK(h.result.hits[0].name == "chat socket");
}

TEST_CASE("a path is resolved against the server URL, http(s) URLs work too", "[ws]") {
  TargetServer server;
  server.start();
  loads::detail::UserSettings s;
  s.serverUrl = server.url();
  Harness h(s);
  h.run([&] {
    h.open("/ws/echo");
    h.open(server.url() + "/ws/echo");
  });
  REQUIRE(h.result.opens.size() == 2);
  CHECK(h.result.opens[0] == wsUrl(server));
  CHECK(h.result.opens[1] == wsUrl(server));
  CHECK_THROWS_AS(h.run([&] { h.open("ftp://x/"); }), std::invalid_argument);
}

TEST_CASE("failed handshakes are hits with status 0 or the HTTP status", "[ws]") {
  TargetServer server;
  server.start();
  SECTION("no such endpoint: the server's 404") {
    Harness h;
    auto e = h.runExpecting([&] { h.open(wsUrl(server, "/nope")); });
    CHECK(e.kind() == ErrorKind::kProtocol);
    CHECK(std::string(e.what()).find("404") != std::string::npos);
    REQUIRE(h.result.hits.size() == 1);
    CHECK(h.result.hits[0].status == 404);
    CHECK(h.result.hits[0].name == "WS /nope");
    CHECK(h.result.opens.empty());
    CHECK(h.result.closes.empty());
  }
  SECTION("refused") {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = probe.local_endpoint().port();
    probe.close();
    Harness h;
    auto e = h.runExpecting([&] { h.open("ws://127.0.0.1:" + std::to_string(port) + "/"); });
    CHECK(e.kind() == ErrorKind::kRefused);
    REQUIRE(h.result.hits.size() == 1);
    CHECK(h.result.hits[0].status == 0);
    CHECK(h.result.hits[0].error == ErrorKind::kRefused);
  }
  SECTION("a server that accepts and never answers: timeout") {
    asio::io_context io;
    asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
    auto port = silent.local_endpoint().port();  // the backlog accepts; nobody answers
    Harness h;
    WsOptions o;
    o.timeout = 200ms;
    auto t0 = std::chrono::steady_clock::now();
    auto e =
        h.runExpecting([&] { h.open("ws://127.0.0.1:" + std::to_string(port) + "/x", {}, o); });
    CHECK(std::chrono::steady_clock::now() - t0 < 2s);
    CHECK(e.kind() == ErrorKind::kTimeout);
    CHECK(std::string(e.what()).find("WsOptions::timeout") != std::string::npos);
    REQUIRE(h.result.hits.size() == 1);
    CHECK(h.result.hits[0].error == ErrorKind::kTimeout);
  }
}

TEST_CASE("wss: certificates are verified unless insecure", "[ws][tls]") {
  auto dir = std::filesystem::temp_directory_path() / ("loads-ws-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  REQUIRE(shell("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                "-addext subjectAltName=DNS:localhost -keyout " +
                key + " -out " + cert + " 2>/dev/null") == 0);
  TargetOptions o;
  o.tlsCert = cert;
  o.tlsKey = key;
  TargetServer server(o);
  server.start();
  std::string url = wsUrl(server);
  REQUIRE(url.starts_with("wss://"));

  SECTION("untrusted: a kTls hit") {
    Harness h;
    auto e = h.runExpecting([&] { h.open(url); });
    CHECK(e.kind() == ErrorKind::kTls);
    CHECK(std::string(e.what()).find("--insecure-skip-tls-verify") != std::string::npos);
    REQUIRE(h.result.hits.size() == 1);
    CHECK(h.result.hits[0].error == ErrorKind::kTls);
  }
  SECTION("insecure: echo over TLS, clean close") {
    loads::detail::UserSettings s;
    s.insecure = true;
    Harness h(s);
    std::optional<WsMessage> echo;
    h.run([&] {
      auto ws = h.open(url);
      ws->send("over tls");
      echo = ws->receive(2s);
      ws->close();
    });
    REQUIRE(echo);
    CHECK(echo->data == "over tls");
    REQUIRE(h.result.closes.size() == 1);
    CHECK(h.result.closes[0].clean);
  }
  SECTION("trusted, by host name (SNI and verification)") {
    Harness h;
    h.tls.load_verify_file(cert);
    h.run([&] {
      auto ws = h.open("wss://localhost:" + std::to_string(server.port()) + "/ws/echo");
      ws->send("named");
      CHECK(ws->receive(2s));
    });
    CHECK(h.result.hits.at(0).status == 101);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("cancel() ends a waiting receive at once and closes the socket, not cleanly", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  asio::steady_timer stopper(h.io);
  auto t0 = std::chrono::steady_clock::now();
  auto e = h.runExpecting([&] {
    auto ws = h.open(wsUrl(server));
    stopper.expires_after(100ms);
    stopper.async_wait([&](boost::system::error_code) { h.user.cancel(); });
    ws->receive(10s);
  });
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(e.kind() == ErrorKind::kCancelled);
  REQUIRE(h.result.closes.size() == 1);
  CHECK_FALSE(h.result.closes[0].clean);
  CHECK(h.result.closes[0].code == 0);
}

TEST_CASE("a TestCase keeps its sockets across hits and closes them when the user ends", "[ws]") {
  TargetServer server;
  server.start();
  Harness h;
  struct Chat : loads::TestCase {};
  std::unique_ptr<Chat> test;
  std::weak_ptr<WebSocket> kept;
  bool openBetweenHits = false;
  json stats;
  h.run([&] {
    loads::detail::currentUser() = &h.user;
    test = std::make_unique<Chat>();
    loads::detail::currentUser() = nullptr;
    {
      auto ws = test->createWs(wsUrl(server));  // "hit 1": the handle goes out of scope
      ws->send("a");
      kept = ws;
    }
    openBetweenHits = !kept.expired() && kept.lock()->isOpen();
    {
      auto ws = kept.lock();  // "hit 2": still there
      ws->send("b");
      CHECK(ws->receive(2s)->data == "a");
      CHECK(ws->receive(2s)->data == "b");
    }
    test.reset();  // the user ends
    stats = h.statsWhenClosed(server, 1);
  });
  CHECK(openBetweenHits);
  CHECK(kept.expired());
  REQUIRE(h.result.closes.size() == 1);
  CHECK(h.result.closes[0].code == 1000);
  CHECK(h.result.closes[0].clean);
  CHECK(stats["ws"]["messages"] == 2);
}
