// report/metrics_text: the /metrics exposition of a run, and docs/metrics.md as its
// contract (every family written is documented, every documented master family written).
#include "report/metrics_text.hpp"

#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "stats/aggregate_result.hpp"

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> families(const std::string& text) {
  std::set<std::string> out;
  std::regex type("^# TYPE ([a-z_]+) ([a-z]+)$");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, type)) continue;
    const std::string kind = m[2];
    out.insert(m[1].str() + (kind == "counter" ? "_total" : kind == "info" ? "_info" : ""));
  }
  return out;
}

// The value of the one sample line that starts with `prefix` followed by a space.
std::string sample(const std::string& text, const std::string& prefix) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(prefix + " ", 0) == 0) return line.substr(prefix.size() + 1);
  }
  return "(absent)";
}

loads::Hit hit(std::string_view name, int status, std::int64_t elapsedUs, bool phased) {
  loads::Hit h;
  h.name = name;
  h.url = name;
  h.method = "GET";
  h.status = status;
  h.startedUs = 1'700'000'000'000'000;
  h.elapsedUs = elapsedUs;
  h.bytes = 100;
  h.phased = phased;
  if (phased) h.phaseUs = {1, 2, 3, 4, elapsedUs - 20, 10};
  return h;
}

}  // namespace

TEST_CASE("metrics: the exposition of 1,001 odd hits, a measure() failure and quotes in names") {
  loads::AggregateResult result;
  loads::LoadsStatus st{0, 3, 1, 1};
  result.startTestRun();
  for (int i = 0; i < 1001; ++i) result.addHit(hit("GET /a\"b\\c", 200, 1000 + i * 37, true), st);
  loads::Hit measured = hit("redis INCR", 0, 250, false);
  measured.method = "MEASURE";
  result.addHit(measured, st);  // ok: status 0 without an error kind
  measured.error = loads::ErrorKind::kTimeout;
  result.addHit(measured, st);  // failed
  result.startTest("T.t", st);
  result.stopTest("T.t", std::chrono::microseconds(5), st);
  result.addSuccess("T.t", st);
  result.stopTestRun();
  const loads::Snapshot snap = result.snapshot();
  loads::MetricsRun run{"local", true, {}};
  run.facts.library = "tests.so";
  const std::string text = loads::metricsText(snap, run);

  REQUIRE(text.ends_with("# EOF\n"));
  const std::string a = "{name=\"GET /a\\\"b\\\\c\"";
  CHECK(sample(text, "loads_requests_total" + a + "}") == "1001");
  CHECK(sample(text, "loads_requests_total{name=\"redis INCR\"}") == "2");
  CHECK(sample(text, "loads_request_failures_total{name=\"redis INCR\"}") == "1");
  CHECK(sample(text, "loads_request_errors_total{name=\"redis INCR\",kind=\"timeout\"}") == "1");
  CHECK(sample(text, "loads_request_duration_seconds_bucket" + a + ",le=\"+Inf\"}") == "1001");
  CHECK(sample(text, "loads_request_duration_seconds_bucket" + a + ",le=\"0.001\"}") == "1");
  CHECK(sample(text, "loads_request_duration_seconds_bucket" + a + ",le=\"0.025\"}") == "649");
  CHECK(sample(text, "loads_request_duration_seconds_bucket" + a + ",le=\"0.05\"}") == "1001");
  CHECK(sample(text, "loads_run_finished") == "1");
  CHECK(sample(text, "loads_hit_outcomes_total{test=\"T.t\",outcome=\"success\"}") == "1");
  // Phases for the HTTP name only; none for the measure() name.
  CHECK(sample(text, "loads_request_phase_quantile_seconds" + a +
                         ",phase=\"connecting\",quantile=\"0.99\"}") == "0.000002");
  CHECK(text.find("phase_quantile_seconds{name=\"redis INCR\"") == std::string::npos);

  // docs/metrics.md documents every family written, and the master's families are all written.
  const std::string docs = readFile(LOADS_SOURCE_DIR "/docs/metrics.md");
  std::set<std::string> documented;
  std::regex row("^\\| `(loads_[a-z_]+)`");
  std::istringstream lines(docs);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row) && line.find("loads_broker") == std::string::npos)
      documented.insert(m[1]);
  }
  std::set<std::string> written = families(text);
  for (const auto& name : written) CHECK(documented.count(name) == 1);
  // Written only in the open model, or with thresholds: documented all the same.
  written.insert({"loads_request_corrected_duration_quantile_seconds", "loads_threshold_passed"});
  for (const auto& name : documented) CHECK(written.count(name) == 1);
}
