#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "report/console_output.hpp"
#include "report/html_report.hpp"
#include "report/json_output.hpp"
#include "report/svg_chart.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // µs

// A fixed run: 10 s, two request names, one test with a failure, a counter, a socket.
Snapshot fixedRun() {
  std::int64_t now = kT0;
  AggregateOptions options;
  options.clock = [&now] { return now; };
  AggregateResult result(options);
  LoadsStatus status;
  status.users = 20;
  result.startTestRun();
  for (int i = 0; i < 1000; ++i) {
    Hit h;
    h.name = i % 4 == 0 ? "POST /login" : "GET /items";
    h.method = i % 4 == 0 ? "POST" : "GET";
    h.status = i % 100 == 0 ? 503 : 200;
    h.startedUs = kT0 + i * 10'000;
    h.elapsedUs = 1000 + i;  // 1.000 .. 1.999 ms
    h.bytes = 512;
    now = h.startedUs;
    result.startTest("Shop.browse", status);
    result.addHit(h, status);
    result.incrCounter("Shop.browse", "carts", 1, status);
    if (i == 500) {
      result.addFailure("Shop.browse",
                        Failure{"AssertionError", "r.status() == 200", "shop.cpp", 42}, status);
    } else {
      result.addSuccess("Shop.browse", status);
    }
    result.stopTest("Shop.browse", std::chrono::microseconds(2000), status);
  }
  result.socketOpen("ws://h/feed", status);
  result.socketMessage("ws://h/feed", Direction::kReceived, 64, status);
  result.socketClose("ws://h/feed", SocketClose{1000, "", true}, status);
  now = kT0 + 10'000'000;
  result.stopTestRun();
  return result.snapshot();
}

}  // namespace

TEST_CASE("the report shows every request name, test, counter, socket and error") {
  const Snapshot snap = fixedRun();
  std::ostringstream out;
  ConsoleOutput::printReport(snap, out);
  const std::string report = out.str();
  INFO(report);
  CHECK(report.find("GET /items") != std::string::npos);
  CHECK(report.find("POST /login") != std::string::npos);
  CHECK(report.find("750") != std::string::npos);    // GET requests
  CHECK(report.find("1,000") != std::string::npos);  // total
  CHECK(report.find("100.0") != std::string::npos);  // total req/s over 10 s
  CHECK(report.find("Shop.browse") != std::string::npos);
  CHECK(report.find("carts") != std::string::npos);
  CHECK(report.find("carts    1,000") != std::string::npos);  // counters use thousands separators
  CHECK(report.find("503 x 10") != std::string::npos);
  CHECK(report.find("opened 1") != std::string::npos);
  CHECK(report.find("r.status() == 200 (shop.cpp:42)") != std::string::npos);
  CHECK(report.find("2.00") != std::string::npos);  // hit time p50 in ms
}

TEST_CASE("report columns are aligned") {
  const Snapshot snap = fixedRun();
  std::ostringstream out;
  ConsoleOutput::printReport(snap, out);
  std::istringstream lines(out.str());
  std::string line, header;
  std::vector<std::string> rows;
  while (std::getline(lines, line)) {
    if (line.rfind("  request", 0) == 0) header = line;
    if (!header.empty() && (line.rfind("  GET", 0) == 0 || line.rfind("  POST", 0) == 0)) {
      rows.push_back(line);
    }
  }
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].size() == header.size());  // right-aligned columns end together
  CHECK(rows[1].size() == header.size());
}

TEST_CASE("the live line shows elapsed, remaining, users, rate, errors and p99") {
  const Snapshot snap = fixedRun();
  LiveInfo info;
  info.elapsed = std::chrono::seconds(65);
  info.remaining = std::chrono::seconds(3600 + 120);
  info.nowUs = kT0 + 3'500'000;  // the last complete second is the third
  const std::string line = ConsoleOutput::liveLine(snap, info);
  INFO(line);
  CHECK(line.find("1:05 (1:02:00 left)") == 0);
  CHECK(line.find("20 users") != std::string::npos);
  CHECK(line.find("1,000 hits") != std::string::npos);
  CHECK(line.find("100 req/s") != std::string::npos);
  CHECK(line.find("11 errors") != std::string::npos);  // 10 x 503 + 1 failure
  CHECK(line.find("p99 1.") != std::string::npos);

  std::ostringstream tty, plain;
  ConsoleOutput onTty(tty, true), onLog(plain, false);
  onTty.printLive(snap, info);
  onTty.printLive(snap, info);
  onTty.finishLive();
  onLog.printLive(snap, info);
  CHECK(tty.str() == "\r\033[2K" + line + "\r\033[2K" + line + "\n");
  CHECK(plain.str() == line + "\n");
}

TEST_CASE("the JSON report parses back with every field of schema 2") {
  const Snapshot snap = fixedRun();
  RunFacts run;
  run.library = "tests.so";
  run.tests = {"Shop.browse"};
  run.options.users = {20, 40};
  run.options.durationMs = 10'000;
  run.options.insecure = true;
  run.options.rateStart = 2.5;
  run.startedUs = kT0;
  run.endedUs = kT0 + 10'000'000;
  run.exitCode = 1;
  std::ostringstream out;
  writeJsonReport(snap, run, out);
  const auto j = nlohmann::json::parse(out.str());

  CHECK(j.at("schema") == 2);
  CHECK(j.at("run").at("library") == "tests.so");
  // Options keep their types: cycles as arrays of numbers, numbers, booleans.
  const auto& options = j.at("run").at("options");
  CHECK(options.at("users") == nlohmann::json::array({20, 40}));
  CHECK(options.at("durationMs") == 10'000);
  CHECK(options.at("insecure") == true);
  CHECK(options.at("rateStart") == 2.5);
  CHECK_FALSE(options.contains("hits"));  // by duration
  CHECK_FALSE(j.contains("agents"));      // a local run
  CHECK_FALSE(j.contains("malformedResults"));
  CHECK(j.at("run").at("exitCode") == 1);
  CHECK(j.at("summary").at("durationSeconds").get<double>() == Approx(10.0));
  CHECK(j.at("summary").at("requests") == 1000);
  CHECK(j.at("summary").at("requestFailures") == 10);
  CHECK(j.at("summary").at("hits") == 1000);
  CHECK(j.at("summary").at("testFailures") == 1);
  CHECK(j.at("summary").at("maxUsers") == 20);

  const auto& requests = j.at("requests");
  REQUIRE(requests.size() == 2);
  const auto& get = requests.at(0);
  CHECK(get.at("name") == "GET /items");
  CHECK(get.at("requests") == 750);
  CHECK(get.at("bytes") == 750 * 512);
  CHECK(get.at("ratePerSecond").get<double>() == Approx(75.0));
  CHECK(get.at("statusCodes").at("200") == 750);
  CHECK(requests.at(1).at("statusCodes").at("503") == 10);  // every 100th request is a POST
  for (const char* key : {"min", "mean", "p50", "p90", "p95", "p99", "p99.9", "max"}) {
    CHECK(get.at("latencyUs").contains(key));
  }
  CHECK(get.at("latencyUs").at("min") == 1001);
  CHECK(get.at("latencyUs").at("max") == 1999);
  CHECK(j.at("allRequests").at("latencyUs").at("p50") == snap.allRequests.latency.percentile(50));

  const auto& test = j.at("tests").at(0);
  CHECK(test.at("name") == "Shop.browse");
  CHECK(test.at("successes") == 999);
  CHECK(test.at("failures") == 1);
  CHECK(test.at("hitTimeUs").at("p99") == 2000);
  CHECK(test.at("counters").at("carts") == 1000);
  CHECK(j.at("counters").at("carts") == 1000);
  CHECK(j.at("sockets").at("messagesReceived") == 1);
  CHECK(j.at("sockets").at("bytesReceived") == 64);

  const auto& error = j.at("errors").at("samples").at(0);
  CHECK(error.at("kind") == "failure");
  CHECK(error.at("file") == "shop.cpp");
  CHECK(error.at("line") == 42);
  CHECK(error.at("count") == 1);

  const auto& seconds = j.at("seconds");
  REQUIRE(seconds.size() == 10);
  CHECK(seconds.at(0).at("t") == kT0 / 1'000'000);
  CHECK(seconds.at(0).at("requests") == 100);
  CHECK(seconds.at(0).at("users") == 20);
  CHECK(seconds.at(0).at("requestsBySource") == nlohmann::json{{"0", 100}});  // local: source 0
  std::uint64_t total = 0;
  for (const auto& s : seconds) total += s.at("requests").get<std::uint64_t>();
  CHECK(total == 1000);
}

TEST_CASE("invalid UTF-8 in an error message does not break the JSON report") {
  AggregateResult result;
  result.addError("A.b", Failure{"std::runtime_error", "bad \xff\xfe bytes", "", 0}, LoadsStatus{});
  std::ostringstream out;
  REQUIRE_NOTHROW(writeJsonReport(result.snapshot(), RunFacts{}, out));
  CHECK(nlohmann::json::parse(out.str()).at("errors").at("samples").size() == 1);
}

// Issue #11: a run past --max-names says so, in the same sentence, in every output.
TEST_CASE("the overflow sentence appears in the console, JSON and HTML reports") {
  AggregateOptions options;
  options.maxNames = 2;
  AggregateResult result(options);
  LoadsStatus status;
  status.users = 1;
  for (int i = 0; i < 5; ++i) {
    const std::string name = "GET /item/" + std::to_string(i);
    Hit hit;
    hit.name = name;
    hit.status = 200;
    hit.startedUs = kT0 + i;
    hit.elapsedUs = 100;
    result.addHit(hit, status);
  }
  const Snapshot snap = result.snapshot();
  REQUIRE(snap.overflows.size() == 1);
  const std::string sentence = overflowSentence(snap.overflows[0]);
  CHECK(sentence.find("\"GET /item/2\", \"GET /item/3\", \"GET /item/4\"") != std::string::npos);
  CHECK(sentence.find("request option .name") != std::string::npos);

  std::ostringstream console;
  ConsoleOutput::printReport(snap, console);
  CHECK(console.str().find(sentence) != std::string::npos);

  RunFacts run;
  const auto j = jsonReport(snap, run);
  REQUIRE(j.at("overflows").size() == 1);
  CHECK(j["overflows"][0].at("sentence") == sentence);
  CHECK(j["overflows"][0].at("what") == "request names");
  CHECK(j["overflows"][0].at("cap") == 2);
  CHECK(j["overflows"][0].at("events") == 3);
  CHECK(j["overflows"][0].at("firstNames").size() == 3);

  std::ostringstream html;
  writeHtmlReport(j, html);
  CHECK(html.str().find(report::htmlEscape(sentence)) != std::string::npos);
}
