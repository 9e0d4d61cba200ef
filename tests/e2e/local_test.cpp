// End-to-end tests of local mode: the real loads-master against the real example
// target, each checking the report against what the target says it served.
#include <signal.h>

#include <catch2/catch.hpp>

#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using nlohmann::json;

namespace {

const std::string kBlog = built("examples/blog/libblog.so");
const std::string kOutcomes = built("tests/libs/liboutcomes.so");

const json& testNamed(const json& report, const std::string& name) {
  for (const auto& t : report["tests"]) {
    if (t["name"] == name) return t;
  }
  FAIL("no test " << name << " in the report");
  throw std::logic_error("unreachable");
}

}  // namespace

TEST_CASE("every hit in the report was served by the target, exactly") {
  TargetProcess target;
  std::string report = tempPath("blog.json");
  auto r = runMaster({kBlog, "-u", "10", "--hits", "20", "--server-url", target.url(), "--json",
                      report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  json j = readJson(report);
  json stats = target.stats();
  CHECK(j["summary"]["requests"] == stats["served"]);
  CHECK(j["summary"]["requests"] == 200);
  CHECK(j["summary"]["hits"] == 200);
  CHECK(testNamed(j, "Blog.test_home")["successes"] == stats["paths"]["/"]);
  CHECK(testNamed(j, "Blog.test_post")["successes"] == stats["paths"]["/comments"]);
  CHECK(j["counters"]["home-visits"] == stats["paths"]["/"]);
  CHECK(r.out.find("GET /") != std::string::npos);  // the console report
}

TEST_CASE("a timed run counts every request the target served") {
  TargetProcess target;
  std::string report = tempPath("timed.json");
  auto r = runMaster({built("examples/simple/libsimple.so"), "--test", "Static", "-u", "8", "-d",
                      "2s", "--server-url", target.url(), "--json", report});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  json j = readJson(report);
  CHECK(j["summary"]["requests"].get<std::uint64_t>() > 100);
  CHECK(j["summary"]["requests"] == target.served());
  CHECK(j["summary"]["durationSeconds"].get<double>() >= 1.9);
  CHECK(j["summary"]["durationSeconds"].get<double>() < 4.0);
  CHECK(j["seconds"].size() >= 2);
}

TEST_CASE("user and hit cycles run one after the other") {
  TargetProcess target;
  std::string report = tempPath("cycles.json");
  auto r = runMaster({kBlog, "--test", "Blog.test_home", "-u", "2:3", "--hits", "1:2",
                      "--server-url", target.url(), "--json", report, "--quiet"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  // (2 + 3) users x (1 + 2) hits
  CHECK(readJson(report)["summary"]["hits"] == 15);
  CHECK(target.served() == 15);
}

TEST_CASE("failures, errors, skips and counters come out as the test caused them") {
  TargetProcess target;
  std::string report = tempPath("outcomes.json");
  auto r = runMaster({kOutcomes, "--test", "Outcomes.test_fail", "--test", "Outcomes.test_error",
                      "--test", "Outcomes.test_skip", "--test", "Outcomes.test_counter", "-u", "4",
                      "--hits", "5", "--server-url", target.url(), "--json", report});
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  json j = readJson(report);
  CHECK(testNamed(j, "Outcomes.test_fail")["failures"] == 5);
  CHECK(testNamed(j, "Outcomes.test_error")["errors"] == 5);
  CHECK(testNamed(j, "Outcomes.test_skip")["skips"] == 5);
  CHECK(testNamed(j, "Outcomes.test_counter")["successes"] == 5);
  CHECK(j["counters"]["apples"] == 10);
  CHECK(j["counters"]["pears"] == 5);
  // Requests: the 404s of test_fail and the GETs of test_error.
  CHECK(j["summary"]["requests"] == target.served());
  CHECK(j["summary"]["requests"] == 10);

  bool sawAssertion = false, sawBoom = false;
  for (const auto& e : j["errors"]["samples"]) {
    std::string message = e["message"];
    if (message.find("the page should exist") != std::string::npos) {
      sawAssertion = true;
      CHECK(e["count"] == 5);
      CHECK(message.find("404") != std::string::npos);
      CHECK(e["file"].get<std::string>().find("outcomes.cpp") != std::string::npos);
      CHECK(e["line"].get<int>() > 0);
    }
    if (message == "boom") {
      sawBoom = true;
      CHECK(e["count"] == 5);
    }
  }
  CHECK(sawAssertion);
  CHECK(sawBoom);
  CHECK(r.out.find("boom") != std::string::npos);  // top errors in the console report
}

TEST_CASE("a refused connection is an error with status 0, exit code 1 and one sentence") {
  // Port 1 on loopback: nothing listens there.
  std::string report = tempPath("refused.json");
  auto r = runMaster({kBlog, "--test", "Blog.test_home", "-u", "2", "--hits", "3", "--server-url",
                      "http://127.0.0.1:1", "--json", report, "--quiet"});
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  json j = readJson(report);
  CHECK(testNamed(j, "Blog.test_home")["errors"] == 6);
  CHECK(j["allRequests"]["statusCodes"]["0"] == 6);
  CHECK(j["allRequests"]["errorKinds"]["refused"] == 6);
  CHECK(r.err.find("no request reached the server") != std::string::npos);
}

TEST_CASE("hits still running when the duration ends are cancelled, not lost") {
  TargetProcess target;
  std::string report = tempPath("cancel.json");
  auto start = std::chrono::steady_clock::now();
  auto r =
      runMaster({kOutcomes, "--test", "Outcomes.test_slow", "-u", "3", "-d", "1s", "--stop-timeout",
                 "500ms", "--server-url", target.url(), "--json", report, "--quiet"});
  auto took = std::chrono::steady_clock::now() - start;
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK(took < std::chrono::seconds(5));  // /delay?ms=10000 was not waited for
  json j = readJson(report);
  const json& slow = testNamed(j, "Outcomes.test_slow");
  CHECK(slow["started"] == 3);
  CHECK(slow["cancelled"] == 3);
  CHECK(slow["errors"] == 0);
  CHECK(j["allRequests"]["errorKinds"]["cancelled"] == 3);
}

TEST_CASE("Ctrl-C stops the run and still writes the report") {
  TargetProcess target;
  std::string report = tempPath("sigint.json");
  Process master({built("master/loads-master"), kOutcomes, "--test", "Outcomes.test_think", "-u",
                  "4", "-d", "60s", "--server-url", target.url(), "--json", report});
  // Wait (bounded) until the run is under way: the target has served something.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (target.served() < 20 && std::chrono::steady_clock::now() < deadline) {
    master.wait(std::chrono::milliseconds(50));
  }
  REQUIRE(target.served() >= 20);
  master.signal(SIGINT);
  auto code = master.wait(std::chrono::seconds(15));
  INFO(master.out() << master.err());
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  json j = readJson(report);
  CHECK(j["summary"]["requests"] == target.served());
  CHECK(testNamed(j, "Outcomes.test_think")["successes"].get<int>() >= 20);
  CHECK(master.out().find("Outcomes.test_think") != std::string::npos);
}

TEST_CASE("listing prints every test of the library") {
  auto r = runMaster({kOutcomes, "--list"});
  CHECK(r.code == 0);
  CHECK(r.out.find("Outcomes.test_ok\n") != std::string::npos);
  CHECK(r.out.find("Outcomes.test_think\n") != std::string::npos);
}

TEST_CASE("bad input gets one clear sentence and exit code 2") {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"/nonexistent/libx.so"}, "does not exist"},
      {{built("tests/libs/libnot_loads.so")}, "is not a loads test library"},
      {{built("tests/libs/libother_abi.so")}, "rebuild it"},
      {{LOADS_SOURCE_DIR "/CMakeLists.txt"}, "cannot be loaded as a shared library"},
      {{kBlog, "--test", "Blog.nope"}, "no test named 'Blog.nope'"},
      {{kBlog, "-d", "ten seconds"}, "is not a duration"},
      {{kBlog, "-d", "10x"}, "is not a duration"},
      {{kBlog, "-u", "10:0"}, "--users '10:0' is not valid"},
      {{kBlog, "-u", "ten"}, "--users 'ten' is not valid"},
      {{kBlog, "--hits", "5::6"}, "--hits '5::6' is not valid"},
      {{kBlog, "--no-such-option"}, "no-such-option"},
      {{}, "a test library is required"},
  };
  for (const auto& c : cases) {
    auto r = runMaster(c.args);
    INFO("args: " << (c.args.empty() ? "" : c.args.back()) << "\nstderr: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(c.says) != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);  // one sentence, one line
    CHECK(r.out.empty());
  }
}

TEST_CASE("help documents every option") {
  auto r = runMaster({"--help"});
  CHECK(r.code == 0);
  for (const char* option : {"--users", "--hits", "--duration", "--ramp", "--threads", "--test",
                             "--list", "--stop-timeout", "--server-url",
                             "--insecure-skip-tls-verify", "--timeout", "--json", "--quiet"}) {
    CHECK(r.out.find(option) != std::string::npos);
  }
}
