// Session against an in-process TargetServer: every request runs in a real virtual-user
// coroutine (asio::spawn) and every hit reported to the TestResult is checked.
#include "loads/session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "client/cookie_jar.hpp"
#include "client/url.hpp"
#include "loads/version.hpp"
#include "run/user_context.hpp"
#include "target_server.hpp"

namespace asio = boost::asio;
using loads::ErrorKind;
using loads::RequestError;
using loads::Session;
using loads::examples::TargetOptions;
using loads::examples::TargetServer;
using nlohmann::json;

namespace {

struct RecordedHit {
  std::string name, url, method;
  int status = 0;
  ErrorKind error = ErrorKind::kNone;
  std::int64_t startedUs = 0, elapsedUs = 0;
  std::uint64_t bytes = 0;
  std::uint32_t user = 0;
  bool phased = false;
  std::array<std::int64_t, loads::kPhaseCount> phaseUs{};
};

class RecordingResult : public loads::TestResult {
 public:
  void addHit(const loads::Hit& h, const loads::LoadsStatus& s) override {
    hits.push_back({std::string(h.name), std::string(h.url), std::string(h.method), h.status,
                    h.error, h.startedUs, h.elapsedUs, h.bytes, s.currentUser, h.phased,
                    h.phaseUs});
  }
  std::vector<RecordedHit> hits;
};

std::int64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One virtual user on its own io_context, plus an observer user that reads /stats.
struct Harness {
  explicit Harness(loads::detail::UserSettings s = {}) : settings(std::move(s)) {
    user.status.currentUser = 7;
    tls.set_default_verify_paths();
  }

  // Runs `body` as the user's coroutine to completion; rethrows what it threw.
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

  // Runs `body` and returns the RequestError it must raise.
  RequestError runExpectingError(const std::function<void()>& body) {
    try {
      run(body);
    } catch (const RequestError& e) {
      return e;
    }
    FAIL("no RequestError was raised");
    throw std::logic_error("unreachable");
  }

  json stats(const TargetServer& server) {
    return observerSession.get(server.url() + "/stats").json();
  }
  void resetStats(const TargetServer& server) {
    REQUIRE(observerSession.post(server.url() + "/stats/reset", loads::raw("")).status() == 200);
  }

  asio::io_context io;
  asio::ssl::context tls{asio::ssl::context::tls_client};
  loads::detail::UserSettings settings;
  loads::detail::DnsCache dns;
  RecordingResult result;
  RecordingResult observed;
  loads::detail::UserContext user{io, result, settings, tls, dns};
  loads::detail::UserContext observer{io, observed, settings, tls, dns};
  Session session{user};
  Session observerSession{observer};
};

// The exact size of a response on the wire, rebuilt from what the Response holds.
std::uint64_t wireSize(const loads::Response& r, std::string_view reason, bool head = false) {
  std::uint64_t n = std::string("HTTP/1.1 ").size() + 3 + 1 + reason.size() + 2;
  for (const auto& [k, v] : r.headers()) n += k.size() + 2 + v.size() + 2;
  return n + 2 + (head ? 0 : r.body().size());
}

void checkHit(const RecordedHit& h, std::string_view name, std::string_view url,
              std::string_view method, int status, ErrorKind error, std::int64_t before,
              std::int64_t after) {
  CHECK(h.name == name);
  CHECK(h.url == url);
  CHECK(h.method == method);
  CHECK(h.status == status);
  CHECK(h.error == error);
  CHECK(h.startedUs >= before);
  CHECK(h.startedUs <= after);
  CHECK(h.elapsedUs > 0);
  CHECK(h.elapsedUs <= after - before);
  CHECK(h.user == 7);
  if (status == 0) CHECK(h.bytes == 0);
}

std::string run(const std::string& command) {
  REQUIRE(std::system(command.c_str()) == 0);
  return command;
}

}  // namespace

TEST_CASE("a GET returns status, headers and body and reports one exact hit", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  loads::Response r;
  auto before = nowUs();
  h.run([&] { r = h.session.get(server.url() + "/"); });
  auto after = nowUs();

  CHECK(r.status() == 200);
  CHECK(r.ok());
  CHECK(r.body().find("Search") != std::string::npos);
  CHECK(r.header("CONTENT-type") == "text/html; charset=utf-8");
  CHECK(r.header("x-absent") == "");
  CHECK(r.url() == server.url() + "/");
  CHECK(r.elapsed().count() > 0);
  REQUIRE(h.result.hits.size() == 1);
  const auto& hit = h.result.hits[0];
  checkHit(hit, "GET /", server.url() + "/", "GET", 200, ErrorKind::kNone, before, after);
  CHECK(hit.bytes == wireSize(r, "OK"));
}

// A hit's wall-clock start is its steady start plus an offset the thread reads from the
// system clock once a second: across that second, every start still lies between the
// system clock's readings before and after its request. (The pause lets a second pass.)
TEST_CASE("hits' wall-clock starts stay exact across the second the offset is kept for",
          "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  std::vector<std::pair<std::int64_t, std::int64_t>> windows;
  for (int i = 0; i < 3; ++i) {
    if (i > 0) std::this_thread::sleep_for(std::chrono::milliseconds(600));
    const std::int64_t before = nowUs();
    h.run([&] { h.session.get(server.url() + "/"); });
    windows.emplace_back(before, nowUs());
  }
  REQUIRE(h.result.hits.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    INFO("hit " << i);
    CHECK(h.result.hits[i].startedUs >= windows[i].first);
    CHECK(h.result.hits[i].startedUs <= windows[i].second);
  }
}

TEST_CASE("every method reaches the server with its name, body and headers", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  h.session.headers().emplace_back("X-Session", "s1");
  std::string echo = server.url() + "/echo";
  h.run([&] {
    CHECK(h.session.get(echo).json()["method"] == "GET");
    CHECK(h.session.del(echo).json()["method"] == "DELETE");
    CHECK(h.session.options(echo).json()["method"] == "OPTIONS");
    for (auto [name, call] : std::vector<std::pair<std::string, decltype(&Session::post)>>{
             {"POST", &Session::post}, {"PUT", &Session::put}, {"PATCH", &Session::patch}}) {
      json e = (h.session.*call)(echo, loads::raw("payload", "text/plain"), {}).json();
      CHECK(e["method"] == name);
      CHECK(e["body"] == "payload");
      CHECK(e["headers"]["Content-Type"] == "text/plain");
      CHECK(e["headers"]["Content-Length"] == "7");
    }
    auto head = h.session.head(echo);
    CHECK(head.status() == 200);
    CHECK(head.body().empty());
    CHECK(!head.header("content-length").empty());
    CHECK(h.result.hits.back().bytes == wireSize(head, "OK", true));

    json e = h.session.get(echo).json();
    CHECK(e["headers"]["User-Agent"] == "loads/" LOADS_VERSION);
    CHECK(e["headers"]["X-Session"] == "s1");
    loads::RequestOptions o;
    o.headers = {{"User-Agent", "custom/1"}, {"X-Session", "override"}};
    e = h.session.get(echo, o).json();
    CHECK(e["headers"]["User-Agent"] == "custom/1");
    CHECK(e["headers"]["X-Session"] == "override");
  });
  std::vector<std::string> methods;
  for (const auto& hit : h.result.hits) {
    methods.push_back(hit.method);
    CHECK(hit.name == hit.method + " /echo");
    CHECK(hit.status == 200);
  }
  CHECK(methods == std::vector<std::string>{"GET", "DELETE", "OPTIONS", "POST", "PUT", "PATCH",
                                            "HEAD", "GET", "GET"});
}

TEST_CASE("query params are URL-encoded and appended, the hit name has no query", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  loads::RequestOptions o;
  o.params = {{"q", "a b&c=d"}, {"\xC3\xBC", "/~x"}};
  json e;
  h.run([&] { e = h.session.get(server.url() + "/echo?x=1", o).json(); });
  CHECK(e["target"] == "/echo?x=1&q=a%20b%26c%3Dd&%C3%BC=%2F~x");
  CHECK(e["args"]["q"] == "a b&c=d");
  CHECK(e["args"]["x"] == "1");
  REQUIRE(h.result.hits.size() == 1);
  CHECK(h.result.hits[0].name == "GET /echo");
  CHECK(h.result.hits[0].url == server.url() + "/echo?x=1&q=a%20b%26c%3Dd&%C3%BC=%2F~x");

  o.name = "search";
  h.run([&] { h.session.get(server.url() + "/echo", o); });
  CHECK(h.result.hits.back().name == "search");
}

TEST_CASE("JSON and form bodies are sent with their content types", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  json j, f, c;
  loads::Response created;
  h.run([&] {
    j = h.session.post(server.url() + "/echo", loads::json({{"a", 1}, {"b", "x"}})).json();
    f = h.session.post(server.url() + "/echo", loads::form({{"a", "1 2"}, {"b", "&"}})).json();
    created = h.session.post(server.url() + "/comments", loads::json({{"text", "hi"}}));
  });
  CHECK(j["headers"]["Content-Type"] == "application/json");
  CHECK(json::parse(j["body"].get<std::string>()) == json({{"a", 1}, {"b", "x"}}));
  CHECK(f["headers"]["Content-Type"] == "application/x-www-form-urlencoded");
  CHECK(f["body"] == "a=1%202&b=%26");
  CHECK(created.status() == 201);
  CHECK(created.json()["text"] == "hi");
  CHECK(h.result.hits.back().name == "POST /comments");
  CHECK(h.result.hits.back().status == 201);
}

TEST_CASE("redirects are followed, one hit per hop, as the server counted", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  loads::Response r;
  json stats;
  auto before = nowUs();
  h.run([&] {
    h.resetStats(server);
    r = h.session.get(server.url() + "/redirect?n=3");
    stats = h.stats(server);
  });
  auto after = nowUs();
  CHECK(r.status() == 200);
  CHECK(r.url() == server.url() + "/");
  CHECK(r.body().find("Search") != std::string::npos);
  REQUIRE(h.result.hits.size() == 4);
  for (int i = 0; i < 3; ++i) {
    checkHit(h.result.hits[i], "GET /redirect",
             server.url() + "/redirect?n=" + std::to_string(3 - i), "GET", 302, ErrorKind::kNone,
             before, after);
    CHECK(h.result.hits[i].bytes > 0);
  }
  checkHit(h.result.hits[3], "GET /", server.url() + "/", "GET", 200, ErrorKind::kNone, before,
           after);
  CHECK(h.result.hits[3].bytes == wireSize(r, "OK"));
  CHECK(stats["served"] == h.result.hits.size());
  CHECK(stats["paths"]["/redirect"] == 3);
  CHECK(stats["paths"]["/"] == 1);
}

TEST_CASE("303 turns a POST into a GET, 307 keeps method and body", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  json see, temp;
  loads::Response unfollowed;
  h.run([&] {
    see =
        h.session.post(server.url() + "/redirect-to?url=/echo&status=303", loads::raw("b")).json();
    temp =
        h.session.post(server.url() + "/redirect-to?url=echo%3Fk%3Dv&status=307", loads::raw("b"))
            .json();
    loads::RequestOptions o;
    o.followRedirects = false;
    unfollowed = h.session.get(server.url() + "/redirect?n=2", o);
  });
  CHECK(see["method"] == "GET");
  CHECK(see["body"] == "");
  CHECK(temp["method"] == "POST");
  CHECK(temp["body"] == "b");
  CHECK(temp["target"] == "/echo?k=v");  // a relative Location
  CHECK(unfollowed.status() == 302);
  CHECK(unfollowed.header("location") == "/redirect?n=1");
  REQUIRE(h.result.hits.size() == 5);
  CHECK(h.result.hits[1].name == "GET /echo");
  CHECK(h.result.hits[3].name == "POST /echo");
}

TEST_CASE("more redirects than the limit raise RequestError", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  h.session.setMaxRedirects(2);
  auto e = h.runExpectingError([&] { h.session.get(server.url() + "/redirect?n=5"); });
  CHECK(std::string(e.what()).find("more than 2 redirects") != std::string::npos);
  REQUIRE(h.result.hits.size() == 3);
  for (const auto& hit : h.result.hits) CHECK(hit.status == 302);
}

TEST_CASE("cookies set by the server are stored and sent back", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  json first, second, cleared;
  h.run([&] {
    h.session.get(server.url() + "/cookies/set?session=abc&theme=dark");
    first = h.session.get(server.url() + "/cookies").json();
    h.session.get(server.url() + "/cookies/delete?theme");
    second = h.session.get(server.url() + "/cookies").json();
    h.session.clearCookies();
    cleared = h.session.get(server.url() + "/cookies").json();
  });
  CHECK(first == json({{"session", "abc"}, {"theme", "dark"}}));
  CHECK(second == json({{"session", "abc"}}));
  CHECK(cleared == json::object());
}

TEST_CASE("cookie attributes: Path, Domain, Secure and Max-Age", "[session][cookies]") {
  loads::detail::CookieJar jar;
  loads::detail::Url from, other;
  REQUIRE(loads::detail::parseUrl("http://www.example.com/shop/cart", from));
  jar.store(from, "plain=1");
  jar.store(from, "scoped=2; Path=/shop; HttpOnly");
  jar.store(from, "wide=3; Domain=.example.com; Path=/");
  jar.store(from, "tls=4; Secure; Path=/");
  jar.store(from, "foreign=5; Domain=evil.com");
  jar.store(from, "gone=6; Max-Age=0");
  jar.store(from, "old=7; Expires=Wed, 21 Oct 2015 07:28:00 GMT");
  jar.store(from, "noequals");

  std::string header;
  REQUIRE(parseUrl("http://www.example.com/shop/item", other));
  CHECK(jar.header(other, header));
  CHECK(header == "plain=1; scoped=2; wide=3");
  header.clear();
  REQUIRE(parseUrl("https://api.example.com/", other));
  CHECK(jar.header(other, header));
  CHECK(header == "wide=3");  // tls=4 belongs to www only (host-only)
  header.clear();
  REQUIRE(parseUrl("https://www.example.com/", other));
  CHECK(jar.header(other, header));
  CHECK(header == "wide=3; tls=4");  // not plain (path /shop), not scoped
  header.clear();
  REQUIRE(parseUrl("http://example.org/", other));
  CHECK_FALSE(jar.header(other, header));

  jar.store(from, "wide=; Domain=example.com; Path=/; Max-Age=0");
  CHECK(jar.value("www.example.com", "wide") == "");
  CHECK(jar.value("WWW.example.com", "plain") == "1");
}

TEST_CASE("keep-alive: many requests use one connection", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  json stats, afterClose;
  h.run([&] {
    h.resetStats(server);
    for (int i = 0; i < 20; ++i) REQUIRE(h.session.get(server.url() + "/static").status() == 200);
    stats = h.stats(server);
    h.session.get(server.url() + "/close");
    h.session.get(server.url() + "/static");
    afterClose = h.stats(server);
  });
  CHECK(stats["paths"]["/static"] == 20);
  CHECK(stats["served"] == 20);
  CHECK(stats["connections"] == 1);
  CHECK(afterClose["connections"] == 2);
  CHECK(h.result.hits.size() == 22);
}

TEST_CASE("a kept connection the server closed is replaced transparently", "[session]") {
  auto first = std::make_unique<TargetServer>();
  first->start();
  unsigned short port = first->port();
  std::string url = first->url() + "/static";
  Harness h;
  h.run([&] { REQUIRE(h.session.get(url).status() == 200); });
  first.reset();  // closes the kept connection from the server side
  TargetOptions o;
  o.port = port;
  TargetServer second(o);
  second.start();
  loads::Response r;
  h.run([&] { r = h.session.get(url); });
  CHECK(r.status() == 200);
  REQUIRE(h.result.hits.size() == 2);
  CHECK(h.result.hits[1].status == 200);
  CHECK(h.result.hits[1].error == ErrorKind::kNone);
  CHECK(second.served() == 1);
  CHECK(second.connections() == 1);
}

TEST_CASE("a request over its timeout is a status-0 kTimeout hit and a RequestError", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  loads::RequestOptions o;
  o.timeout = std::chrono::milliseconds(100);
  std::string url = server.url() + "/delay?ms=3000";
  auto before = nowUs();
  auto e = h.runExpectingError([&] { h.session.get(url, o); });
  auto after = nowUs();
  CHECK(e.kind() == ErrorKind::kTimeout);
  CHECK(std::string(e.what()).starts_with("GET " + url + " failed: no response within 100 ms"));
  REQUIRE(h.result.hits.size() == 1);
  checkHit(h.result.hits[0], "GET /delay", url, "GET", 0, ErrorKind::kTimeout, before, after);
  CHECK(h.result.hits[0].elapsedUs >= 90'000);
  CHECK(h.result.hits[0].elapsedUs < 2'000'000);

  // The session-wide default applies too, and the session still works afterwards.
  h.session.setTimeout(std::chrono::milliseconds(50));
  auto e2 = h.runExpectingError([&] { h.session.get(url); });
  CHECK(e2.kind() == ErrorKind::kTimeout);
  h.session.setTimeout(std::chrono::milliseconds(5000));
  h.run([&] { CHECK(h.session.get(server.url() + "/static").status() == 200); });
}

TEST_CASE("users of one thread time out each at its own deadline, a short one after a long one",
          "[session]") {
  // The thread's deadlines share one timer (client/deadlines.hpp): it is armed for the
  // long deadline first and must be re-armed for the short one that comes after it; and
  // once no request is left it must not keep io_context::run() waiting.
  TargetServer server;
  server.start();
  Harness h;
  std::optional<int> longStatus;
  std::optional<ErrorKind> shortError;
  std::int64_t shortTookUs = 0;
  loads::detail::spawnUser(h.io, [&](loads::detail::Yield yield) {
    h.user.yield = &yield;
    loads::RequestOptions o;
    o.timeout = std::chrono::milliseconds(4000);
    longStatus = h.session.get(server.url() + "/delay?ms=700", o).status();
    h.user.yield = nullptr;
  });
  loads::detail::spawnUser(h.io, [&](loads::detail::Yield yield) {
    h.observer.yield = &yield;
    loads::RequestOptions o;
    o.timeout = std::chrono::milliseconds(100);
    const auto start = nowUs();
    try {
      h.observerSession.get(server.url() + "/delay?ms=3000", o);
    } catch (const RequestError& e) {
      shortError = e.kind();
    }
    shortTookUs = nowUs() - start;
    h.observer.yield = nullptr;
  });
  const auto start = nowUs();
  h.io.run();
  const auto tookUs = nowUs() - start;
  CHECK(longStatus == 200);
  CHECK(shortError == ErrorKind::kTimeout);
  CHECK(shortTookUs >= 90'000);
  CHECK(shortTookUs < 600'000);  // not at the long request's deadline, nor after its reply
  CHECK(tookUs < 3'500'000);     // run() returned without waiting for the 4 s deadline
  REQUIRE(h.observed.hits.size() == 1);
  CHECK(h.observed.hits[0].error == ErrorKind::kTimeout);
}

TEST_CASE("a refused connection is a status-0 kRefused hit", "[session]") {
  unsigned short port;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = probe.local_endpoint().port();
  }  // closed: nothing listens there now
  Harness h;
  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto before = nowUs();
  auto e = h.runExpectingError([&] { h.session.get(url); });
  auto after = nowUs();
  CHECK(e.kind() == ErrorKind::kRefused);
  CHECK(std::string(e.what()) == "GET " + url + " failed: connection refused");
  REQUIRE(h.result.hits.size() == 1);
  checkHit(h.result.hits[0], "GET /", url, "GET", 0, ErrorKind::kRefused, before, after);
}

TEST_CASE("a connection reset without a reply is a status-0 kReset hit", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  std::string url = server.url() + "/reset";
  auto before = nowUs();
  auto e = h.runExpectingError([&] { h.session.get(url); });
  auto after = nowUs();
  CHECK(e.kind() == ErrorKind::kReset);
  REQUIRE(h.result.hits.size() == 1);
  checkHit(h.result.hits[0], "GET /reset", url, "GET", 0, ErrorKind::kReset, before, after);
}

TEST_CASE("an unknown host name is a status-0 kDns hit, names resolve", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  auto e = h.runExpectingError([&] { h.session.get("http://no-such-host.invalid/x"); });
  CHECK(e.kind() == ErrorKind::kDns);
  REQUIRE(h.result.hits.size() == 1);
  CHECK(h.result.hits[0].status == 0);
  CHECK(h.result.hits[0].error == ErrorKind::kDns);
  h.run([&] {
    CHECK(h.session.get("http://localhost:" + std::to_string(server.port()) + "/").status() == 200);
  });
}

TEST_CASE("paths are resolved against the --server-url", "[session]") {
  TargetServer server;
  server.start();
  loads::detail::UserSettings s;
  s.serverUrl = server.url() + "/";
  Harness h(s);
  h.run([&] { CHECK(h.session.get("/static").status() == 200); });
  CHECK(h.result.hits.at(0).url == server.url() + "/static");
}

TEST_CASE("HTTPS: certificates are verified unless insecure", "[session][tls]") {
  auto dir = std::filesystem::temp_directory_path() / ("loads-session-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost -keyout " +
      key + " -out " + cert + " 2>/dev/null");
  TargetOptions o;
  o.tlsCert = cert;
  o.tlsKey = key;
  TargetServer server(o);
  server.start();
  REQUIRE(server.url().starts_with("https://"));
  std::string url = server.url() + "/";

  SECTION("an untrusted certificate is a kTls hit") {
    Harness h;
    auto e = h.runExpectingError([&] { h.session.get(url); });
    CHECK(e.kind() == ErrorKind::kTls);
    CHECK(std::string(e.what()).find("certificate") != std::string::npos);
    REQUIRE(h.result.hits.size() == 1);
    CHECK(h.result.hits[0].error == ErrorKind::kTls);
    CHECK(h.result.hits[0].status == 0);
  }
  SECTION("insecure skips verification") {
    loads::detail::UserSettings s;
    s.insecure = true;
    Harness h(s);
    loads::Response r;
    h.run([&] {
      r = h.session.get(url);
      h.session.get(url);
    });
    CHECK(r.status() == 200);
    CHECK(r.body().find("Search") != std::string::npos);
    REQUIRE(h.result.hits.size() == 2);
    CHECK(h.result.hits[0].url == url);
    CHECK(h.result.hits[0].bytes == wireSize(r, "OK"));
    CHECK(server.connections() == 1);  // kept alive over TLS
  }
  SECTION("phase timings: the first request connects and handshakes, kept-alive ones do not") {
    loads::detail::UserSettings s;
    s.insecure = true;
    Harness h(s);
    h.run([&] {
      for (int i = 0; i < 5; ++i) h.session.get(url);
    });
    REQUIRE(h.result.hits.size() == 5);
    CHECK(server.connections() == 1);
    using loads::Phase;
    auto at = [](const RecordedHit& hit, Phase p) { return hit.phaseUs[static_cast<int>(p)]; };
    for (std::size_t i = 0; i < h.result.hits.size(); ++i) {
      const RecordedHit& hit = h.result.hits[i];
      REQUIRE(hit.phased);
      std::int64_t sum = 0;
      for (std::int64_t us : hit.phaseUs) sum += us;
      // Each phase is truncated to the µs: the sum is the elapsed time to within 6 µs.
      CHECK(sum <= hit.elapsedUs);
      CHECK(sum >= hit.elapsedUs - 6);
      if (i == 0) {
        CHECK(at(hit, Phase::kTls) > 0);  // an RSA handshake takes far more than 1 µs
        CHECK(at(hit, Phase::kTls) + at(hit, Phase::kConnecting) > 0);
      } else {
        CHECK(at(hit, Phase::kDns) == 0);
        CHECK(at(hit, Phase::kConnecting) == 0);
        CHECK(at(hit, Phase::kTls) == 0);
      }
      CHECK(at(hit, Phase::kWaiting) > 0);
    }
  }
  SECTION("a trusted certificate is checked against the host name") {
    Harness h;
    h.tls.load_verify_file(cert);
    h.run([&] {
      CHECK(h.session.get("https://localhost:" + std::to_string(server.port()) + "/").status() ==
            200);
    });
    // The certificate names localhost only, not the address it is reached at.
    auto e = h.runExpectingError([&] { h.session.get(url); });
    CHECK(e.kind() == ErrorKind::kTls);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("cancel() during a pending request ends it at once with kCancelled", "[session]") {
  TargetServer server;
  server.start();
  Harness h;
  std::string url = server.url() + "/delay?ms=5000";
  asio::steady_timer stopper(h.io, std::chrono::milliseconds(100));
  stopper.async_wait([&](boost::system::error_code) { h.user.cancel(); });
  auto started = std::chrono::steady_clock::now();
  auto e = h.runExpectingError([&] { h.session.get(url); });
  auto took = std::chrono::steady_clock::now() - started;
  CHECK(e.kind() == ErrorKind::kCancelled);
  CHECK(took < std::chrono::seconds(2));
  REQUIRE(h.result.hits.size() == 1);
  CHECK(h.result.hits[0].status == 0);
  CHECK(h.result.hits[0].error == ErrorKind::kCancelled);
  CHECK(h.result.hits[0].name == "GET /delay");
}

namespace {

// A server that answers each request with the next of its canned responses, each written
// in the pieces given (separate writes, `gap` apart: a slow link), closing the connection
// after those marked so.
class RawServer {
 public:
  struct Reply {
    std::vector<std::string> pieces;
    bool close = false;
    std::chrono::microseconds gap{0};
  };
  explicit RawServer(std::vector<Reply> replies) : replies_(std::move(replies)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(listener_, 8) == 0);
    socklen_t n = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &n);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RawServer() {
    ::shutdown(listener_, SHUT_RDWR);
    ::close(listener_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  void serve() {
    std::size_t next = 0;
    while (next < replies_.size()) {
      const int c = ::accept(listener_, nullptr, nullptr);
      if (c < 0) return;
      const int one = 1;  // each piece its own segment
      ::setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      ++connections_;
      std::string request;
      char buffer[4096];
      while (next < replies_.size()) {
        const auto n = ::recv(c, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        request.append(buffer, static_cast<std::size_t>(n));
        if (request.find("\r\n\r\n") == std::string::npos) continue;
        request.clear();
        const Reply& reply = replies_[next++];
        for (const auto& piece : reply.pieces) {
          if (&piece != &reply.pieces.front()) std::this_thread::sleep_for(reply.gap);
          ::send(c, piece.data(), piece.size(), MSG_NOSIGNAL);
        }
        if (reply.close) break;
      }
      ::close(c);
    }
  }
  std::vector<Reply> replies_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE("chunked, to-the-end, HTTP/1.0 and split responses are read whole, hits exact",
          "[session]") {
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  const std::string split = "HTTP/1.1 201 Created\r\nContent-Length: 11\r\n\r\nsplit body!";
  const std::string toEnd = "HTTP/1.1 200 OK\r\nServer: raw\r\n\r\nuntil the end";
  const std::string old = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold";
  RawServer server({{{chunked}},
                    {{split.substr(0, 20), split.substr(20, 30), split.substr(50)}},
                    {{toEnd}, true},
                    {{old}, true}});
  Harness h;
  std::vector<loads::Response> r(4);
  h.run([&] {
    for (auto& response : r) response = h.session.get(server.url() + "/x");
  });
  CHECK(r[0].status() == 200);
  CHECK(r[0].body() == "hello world");
  CHECK(r[1].status() == 201);
  CHECK(r[1].body() == "split body!");
  CHECK(r[2].body() == "until the end");
  CHECK(r[3].body() == "old");
  REQUIRE(h.result.hits.size() == 4);
  CHECK(h.result.hits[0].bytes == chunked.size());
  CHECK(h.result.hits[1].bytes == split.size());
  CHECK(h.result.hits[2].bytes == toEnd.size());
  CHECK(h.result.hits[3].bytes == old.size());
  // The first three on one kept connection (the third reads to its end), the fourth on another.
  CHECK(server.connections() == 2);
}

// A slow link: every byte of a response its own write, 200 µs apart, so the client's
// reads find the head and the body a few bytes at a time. The end of the head is looked
// for again after every read (across the reads' seams), nginx's kind of head still goes
// through the fast path and its fields are read in place, a chunked one through Beast
// with its cookie kept, and all three exchanges use one kept connection.
TEST_CASE("responses that arrive a byte at a time are read whole, hits exact", "[session]") {
  const std::string nginx =
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Wed, 02 Dec 2026 04:59:49 GMT\r\n"
      "Content-Type: text/plain\r\nContent-Length: 11\r\nConnection: keep-alive\r\n"
      "ETag: \"6b0fa5c5-35\"\r\n\r\nhello world";
  const std::string chunked =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nSet-Cookie: s=1\r\n\r\n"
      "5\r\nhello\r\n0\r\n\r\n";
  auto byBytes = [](const std::string& text) {
    std::vector<std::string> pieces;
    for (char c : text) pieces.emplace_back(1, c);
    return pieces;
  };
  using std::chrono_literals::operator""us;
  RawServer server({{byBytes(nginx), false, 200us},
                    {byBytes(chunked), false, 200us},
                    {byBytes(nginx), false, 200us}});
  Harness h;
  std::vector<loads::Response> r(3);
  h.run([&] {
    for (auto& response : r) response = h.session.get(server.url() + "/slow");
  });
  CHECK(r[0].status() == 200);
  CHECK(r[0].body() == "hello world");
  CHECK(r[0].header("etag") == "\"6b0fa5c5-35\"");
  CHECK(r[0].headers().size() == 6);
  CHECK(r[1].body() == "hello");
  CHECK(r[1].header("set-cookie") == "s=1");
  CHECK(r[2].body() == "hello world");
  REQUIRE(h.result.hits.size() == 3);
  CHECK(h.result.hits[0].bytes == nginx.size());
  CHECK(h.result.hits[1].bytes == chunked.size());
  CHECK(h.result.hits[2].bytes == nginx.size());
  CHECK(server.connections() == 1);
}

// A body no socket buffer holds, to a server that reads it in small pieces, and a large
// response that comes back in pieces: the request is sent whole although the socket takes
// only part of it at once, and the response is read whole over many reads, some of which
// find nothing yet. Then the kept connection carries one more exchange. The server counts
// and checks every byte it received.
TEST_CASE("a body larger than the socket takes goes out whole, a large response comes in whole",
          "[session]") {
  constexpr std::size_t kUp = 16u << 20, kDown = 8u << 20;
  auto pattern = [](std::size_t n, std::size_t seed) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    return s;
  };
  const std::string up = pattern(kUp, 1), down = pattern(kDown, 3);
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const int small = 16 << 10;  // the accepted socket inherits it: a slow, small receiver
  REQUIRE(::setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
  REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::listen(listener, 1) == 0);
  socklen_t len = sizeof a;
  ::getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  const std::string url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/big";
  std::atomic<std::size_t> bodyBytes{0}, requests{0};
  std::atomic<bool> bodyMatches{true};
  std::thread server([&] {
    const int c = ::accept(listener, nullptr, nullptr);
    if (c < 0) return;
    std::string in;
    char buffer[4096];  // small reads: the client's sends find the socket full
    auto readUntil = [&](std::size_t size) {
      while (in.size() < size) {
        const auto n = ::recv(c, buffer, sizeof buffer, 0);
        if (n <= 0) return false;
        in.append(buffer, static_cast<std::size_t>(n));
      }
      return true;
    };
    for (int i = 0; i < 2; ++i) {
      std::size_t head;
      while ((head = in.find("\r\n\r\n")) == std::string::npos) {
        if (!readUntil(in.size() + 1)) return;
      }
      head += 4;
      const bool post = in.starts_with("POST");
      if (post) {
        if (!readUntil(head + kUp)) return;
        bodyBytes = in.size() - head;
        bodyMatches = in.compare(head, kUp, up) == 0;
        in.erase(0, head + kUp);
      } else {
        in.erase(0, head);
      }
      ++requests;
      const std::string& body = post ? down : std::string("ok");
      const std::string reply =
          "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n";
      ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
      for (std::size_t at = 0; at < body.size(); at += 100'000) {  // in pieces
        ::send(c, body.data() + at, std::min<std::size_t>(100'000, body.size() - at), MSG_NOSIGNAL);
      }
    }
    ::close(c);
  });
  Harness h;
  loads::Response big, after;
  h.run([&] {
    big = h.session.post(url, loads::raw(up, "application/octet-stream"));
    after = h.session.get(url);
  });
  ::shutdown(listener, SHUT_RDWR);
  ::close(listener);
  server.join();
  CHECK(requests == 2);
  CHECK(bodyBytes == kUp);
  CHECK(bodyMatches);
  CHECK(big.status() == 200);
  CHECK(big.body().size() == kDown);
  CHECK(big.body() == down);
  CHECK(after.body() == "ok");
  REQUIRE(h.result.hits.size() == 2);
  CHECK(h.result.hits[0].bytes == wireSize(big, "OK"));
  CHECK(h.result.hits[1].bytes == wireSize(after, "OK"));
}
