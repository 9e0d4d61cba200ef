// docs/json-report.md is the JSON report's contract: every key of a report (the writer's,
// the golden one) is documented there with its JSON type, every key is camelCase, and
// every documented key is written when the run has it. The page's tables are parsed by
// the rules it states under "How this page is checked".
#include "report/json_output.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "report/report_json.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using Json = nlohmann::ordered_json;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000'000;  // µs

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> backticked(const std::string& text) {
  std::vector<std::string> spans;
  for (std::size_t open = text.find('`'); open != std::string::npos;) {
    const std::size_t close = text.find('`', open + 1);
    if (close == std::string::npos) break;
    spans.push_back(text.substr(open + 1, close - open - 1));
    open = text.find('`', close + 1);
  }
  return spans;
}

std::vector<std::string> cells(const std::string& row) {
  std::vector<std::string> out;
  std::stringstream in(row.substr(1));
  for (std::string cell; std::getline(in, cell, '|');) {
    const auto first = cell.find_first_not_of(' '), last = cell.find_last_not_of(' ');
    out.push_back(first == std::string::npos ? "" : cell.substr(first, last - first + 1));
  }
  return out;
}

// "samples[].kind" -> "samples[]/kind"; a dot before a digit belongs to the name (p99.9).
std::string docPath(const std::string& key) {
  std::string out;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const bool split = key[i] == '.' && i + 1 < key.size() && !std::isdigit(key[i + 1]);
    out += split ? '/' : key[i];
  }
  return out;
}

// The documented keys: path ("requests[]/latencyUs/p99.9") -> the type cell.
struct Doc {
  std::map<std::string, std::string> keys;
  std::vector<std::string> errors;
};

Doc parseDoc(const std::string& text) {
  Doc doc;
  std::vector<std::string> bases;
  bool inKeyTable = false;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind('#', 0) == 0) {
      bases = line.find("Top level") != std::string::npos ? std::vector<std::string>{""}
                                                          : backticked(line);
      inKeyTable = false;
    } else if (line.rfind('|', 0) == 0) {
      const auto c = cells(line);
      if (c.size() >= 3 && c[0] == "field" && c[1] == "type" && c[2] == "meaning") {
        inKeyTable = true;
        if (bases.empty()) doc.errors.push_back("a key table under a heading naming no object");
      } else if (inKeyTable && c.size() >= 2 && c[0].rfind("---", 0) != 0) {
        for (const auto& base : bases) {
          for (const auto& key : backticked(c[0])) {
            doc.keys[base.empty() ? docPath(key) : docPath(base) + "/" + docPath(key)] = c[1];
          }
        }
      }
    } else {
      inKeyTable = false;
    }
  }
  return doc;
}

const Doc& documented() {
  static const Doc doc = parseDoc(readFile(LOADS_SOURCE_DIR "/docs/json-report.md"));
  return doc;
}

bool isMap(const std::string& type) { return type.find("→") != std::string::npos; }

bool allOf(const Json& array, bool (Json::*is)() const noexcept) {
  for (const auto& e : array) {
    if (!(e.*is)()) return false;
  }
  return true;
}

// Whether `value` has the JSON type the type cell names (docs/json-report.md).
bool typeMatches(const std::string& type, const Json& value) {
  if (value.is_null()) return type.find("or null") != std::string::npos;
  const std::string word = type.substr(0, type.find_first_of(" ,"));
  if (word == "integer") return value.is_number_integer();
  if (word == "number") return value.is_number();
  if (word == "string") return value.is_string();
  if (word == "boolean") return value.is_boolean();
  if (word == "array") {
    if (!value.is_array()) return false;
    if (type.rfind("array of integers", 0) == 0) return allOf(value, &Json::is_number_integer);
    if (type.rfind("array of strings", 0) == 0) return allOf(value, &Json::is_string);
    return allOf(value, &Json::is_object);
  }
  return type.find("object") != std::string::npos && value.is_object();
}

// Walks every key of `value` below `path`; each problem is one sentence in `problems`.
void walk(const Json& value, const std::string& path, std::set<std::string>& seen,
          std::vector<std::string>& problems) {
  static const std::regex camel("[a-z][A-Za-z0-9]*(\\.[0-9]+)?");
  if (value.is_array()) {
    for (const auto& element : value) walk(element, path + "[]", seen, problems);
    return;
  }
  if (!value.is_object()) return;
  for (const auto& [key, child] : value.items()) {
    const std::string at = path.empty() ? key : path + "/" + key;
    if (!std::regex_match(key, camel)) problems.push_back("`" + at + "` is not camelCase");
    auto doc = documented().keys.find(at);
    if (doc == documented().keys.end()) {
      problems.push_back("`" + at + "` is not documented in docs/json-report.md");
      continue;
    }
    seen.insert(at);
    if (!typeMatches(doc->second, child)) {
      problems.push_back("`" + at + "` is " + child.dump() + ", documented as " + doc->second);
    }
    if (!isMap(doc->second)) walk(child, at, seen, problems);
  }
}

std::vector<std::string> undocumented(const Json& report) {
  std::set<std::string> seen;
  std::vector<std::string> problems;
  walk(report, "", seen, problems);
  return problems;
}

std::string lines(const std::vector<std::string>& list) {
  std::string out;
  for (const auto& l : list) out += l + "\n";
  return out;
}

// A short run with every part a report can have: two requests (one that got no response),
// a failure, a counter, a WebSocket.
Snapshot everyPart() {
  std::int64_t now = kT0;
  AggregateOptions options;
  options.clock = [&now] { return now; };
  options.maxNames = 1;  // the second name overflows: an overflows[] entry
  AggregateResult result(options);
  LoadsStatus status;
  status.users = 2;
  result.startTestRun();
  for (int i = 0; i < 2; ++i) {
    Hit h;
    h.name = i == 0 ? "GET /items" : "GET /items/2";
    h.method = "GET";
    h.status = i == 0 ? 200 : 0;
    h.error = i == 0 ? ErrorKind::kNone : ErrorKind::kRefused;
    h.startedUs = kT0 + i * 500'000;
    h.elapsedUs = 1000;
    now = h.startedUs;
    result.startTest("Shop.browse", status);
    result.addHit(h, status);
    result.incrCounter("Shop.browse", "carts", 1, status);
    result.addFailure("Shop.browse", Failure{"AssertionError", "r.ok()", "shop.cpp", 42}, status);
    result.stopTest("Shop.browse", std::chrono::microseconds(2000), status);
  }
  result.socketOpen("ws://h/feed", status);
  result.socketClose("ws://h/feed", SocketClose{1000, "", true}, status);
  now = kT0 + 2'000'000;
  result.stopTestRun();
  return result.snapshot();
}

// Facts with every optional part filled: each option, a threshold, a distributed run
// with an agent, a problem and a rebalance.
RunFacts everyFact() {
  RunFacts facts;
  facts.library = "tests.so";
  facts.tests = {"Shop.browse"};
  ReportOptions& o = facts.options;
  o.users = {10, 20};
  o.hits = {5};
  o.durationMs = 1000;
  o.rampMs = 500;
  o.threads = 2;
  o.maxNames = 1000;
  o.stopTimeoutMs = 5000;
  o.serverUrl = "http://127.0.0.1:1";
  o.timeoutMs = 30000;
  o.rateStart = 2.5;
  o.rateStages = "1s:10";
  o.maxUsers = 4;
  o.stages = "1s:10";
  o.agents = 1;
  o.broker = "tcp://127.0.0.1:7780";
  o.params = {{"tenant", "acme"}};
  o.include = {{"users.csv", 12, std::string(64, 'a')}};
  facts.startedUs = kT0;
  facts.endedUs = kT0 + 2'000'000;
  facts.thresholds.push_back({"hits:count>1", 2.0, ThresholdUnit::kCount, true, false});
  DistributedFacts d{.runId = "run-1",
                     .problems = {"agent a2 was lost"},
                     .malformedResults = 3,
                     .rejectedResults = RejectedResultsFacts{1, 2, 3, 4}};
  d.agents.push_back({.id = "a1",
                      .host = "h",
                      .state = "done",
                      .eventsSent = 9,
                      .eventsReceived = 9,
                      .requests = 2,
                      .cycle = 1});
  RebalanceFacts event{.atMs = 800,
                       .lostId = "a2",
                       .lostHost = "h2",
                       .reason = "gone",
                       .firstArrival = 3,
                       .count = 1};
  event.shares.push_back({"a1", "h", 0, 4});
  event.rows.push_back({"users.csv", 1234});
  event.rowsFinal = event.rowsMoved = true;
  event.rowsMovedAtMs = 900;
  d.rebalances = std::vector{event};
  facts.distributed = d;
  facts.cycles.push_back({.index = 0,
                          .users = 2,
                          .hitsPerUser = 5,
                          .hits = 10,
                          .successes = 8,
                          .failures = 1,
                          .errors = 1,
                          .requests = 10,
                          .requestFailures = 1,
                          .tookMs = 1500});
  facts.crashes.push_back({.agent = "a1",
                           .signal = 11,
                           .signalName = "SIGSEGV",
                           .description = "killed by SIGSEGV in Blog.test_home (user 1, hit 7)",
                           .test = "Blog.test_home",
                           .user = 1,
                           .hit = 7,
                           .frames = {{"libblog.so", 0x24d0, "Blog::test_home()+0x1c"}}});
  return facts;
}

}  // namespace

TEST_CASE("docs/json-report.md parses into the report's key paths and their types") {
  const Doc& doc = documented();
  INFO(lines(doc.errors));
  CHECK(doc.errors.empty());
  CHECK(doc.keys.size() > 150);
  CHECK(doc.keys.at("agents[]/eventsSent") == "integer or null");
  CHECK(doc.keys.at("requests[]/latencyCorrectedUs/p99.9") == "integer µs");
  CHECK(doc.keys.at("run/options/users") == "array of integers");
  CHECK(doc.keys.at("errors/samples[]/line") == "integer");
  CHECK(isMap(doc.keys.at("tests[]/counters")));
}

TEST_CASE("the check fails on an undocumented key, a snake_case key and a number written as text") {
  const auto problems = undocumented(Json::parse(
      R"({"schema": 2, "malformed_results": 1, "run": {"options": {"rampMs": "4000"}}})"));
  INFO(lines(problems));
  REQUIRE(problems.size() == 3);
  CHECK(problems[0] == "`malformed_results` is not camelCase");
  CHECK(problems[1] == "`malformed_results` is not documented in docs/json-report.md");
  CHECK(problems[2] == "`run/options/rampMs` is \"4000\", documented as integer ms");
}

TEST_CASE("every key of the golden reports is camelCase and documented with its type") {
  int files = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(LOADS_SOURCE_DIR "/tests/report/golden")) {
    if (entry.path().extension() != ".json") continue;
    ++files;
    const Json report = Json::parse(readFile(entry.path()));
    INFO(entry.path() << "\n" << lines(undocumented(report)));
    CHECK(report.at("schema") == kJsonReportSchema);
    CHECK(undocumented(report).empty());
  }
  CHECK(files >= 1);
}

TEST_CASE("the writer writes every documented key, each camelCase and of its documented type") {
  const Json report = jsonReport(everyPart(), everyFact());
  std::set<std::string> seen;
  std::vector<std::string> problems;
  walk(report, "", seen, problems);
  for (const auto& [path, type] : documented().keys) {
    if (!seen.count(path)) problems.push_back("`" + path + "` is documented but not written");
  }
  INFO(report.dump(2) << "\n" << lines(problems));
  CHECK(problems.empty());
}

TEST_CASE("the writer keeps option values typed and writes the distributed facts") {
  const Json report = jsonReport(everyPart(), everyFact());
  const Json& options = report.at("run").at("options");
  CHECK(options.at("users") == Json::array({10, 20}));
  CHECK(options.at("durationMs") == 1000);
  CHECK(options.at("insecure") == false);
  CHECK(options.at("rateStart") == 2.5);
  CHECK(report.at("run").at("runId") == "run-1");
  CHECK(report.at("agents").at(0).at("eventsSent") == 9);
  CHECK(report.at("rebalances").at(0).at("shares").at(0).at("users") == 4);
  CHECK(report.at("malformedResults") == 3);
  CHECK(report.at("rejectedResults").at("outOfSequence") == 3);

  RunFacts local = everyFact();
  local.distributed.reset();
  local.options = ReportOptions{.users = {1}};
  const Json plain = jsonReport(everyPart(), local);
  for (const char* key :
       {"agents", "problems", "rebalances", "malformedResults", "rejectedResults"}) {
    CHECK_FALSE(plain.contains(key));
  }
  CHECK_FALSE(plain.at("run").contains("runId"));
  for (const char* key : {"hits", "durationMs", "rateStart", "rateStages", "maxUsers", "stages",
                          "agents", "broker"}) {
    CHECK_FALSE(plain.at("run").at("options").contains(key));
  }
}
