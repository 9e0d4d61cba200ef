// Golden tests of the report writers: a fixed JSON report (tests/report/golden/run.json,
// with hostile text in names and error messages) rendered to HTML, CSV and JUnit must
// equal the checked-in files byte for byte. After an intended change, regenerate them:
//   LOADS_UPDATE_GOLDEN=1 build/tests/report_golden_test
// and review the diff. run.json is input, edited by hand; the schema-1 fixture
// (tests/report/schema1/run.json, frozen) must read as it, key for key.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "report/csv_report.hpp"
#include "report/html_report.hpp"
#include "report/junit_report.hpp"
#include "report/report_json.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads;
using Json = nlohmann::ordered_json;

namespace {

const std::string kGolden = LOADS_SOURCE_DIR "/tests/report/golden/";

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// What loads-master --report hands the renderers.
Json readReportFile(const std::string& path) {
  report::ReadReport read = report::readReport(readFile(path));
  INFO(path << " " << read.error);
  REQUIRE(read.report);
  return *read.report;
}

Json goldenInput() { return readReportFile(kGolden + "run.json"); }
Json schema1Input() { return readReportFile(LOADS_SOURCE_DIR "/tests/report/schema1/run.json"); }

template <class Writer>
std::string render(Writer&& write, const Json& report) {
  std::ostringstream out;
  write(report, out);
  return out.str();
}

// Compares with the checked-in file, or rewrites it when LOADS_UPDATE_GOLDEN is set.
void checkGolden(const std::string& name, const std::string& actual) {
  const std::string path = kGolden + name;
  if (std::getenv("LOADS_UPDATE_GOLDEN")) {
    std::ofstream(path, std::ios::binary) << actual;
    WARN("rewrote " << path);
    return;
  }
  const std::string expected = readFile(path);
  if (actual == expected) return;
  const std::string saved = loads::testing::tempPath(name);
  std::ofstream(saved, std::ios::binary) << actual;
  std::size_t at = 0;
  while (at < actual.size() && at < expected.size() && actual[at] == expected[at]) ++at;
  FAIL(name << " differs from " << path << " at byte " << at << "; got " << saved
            << " (diff them; LOADS_UPDATE_GOLDEN=1 regenerates)");
}

}  // namespace

TEST_CASE("the HTML report of the fixed run matches its golden file") {
  checkGolden("run.html", render(writeHtmlReport, goldenInput()));
}

TEST_CASE("the CSV reports of the fixed run match their golden files") {
  checkGolden("run_requests.csv", render(writeRequestsCsv, goldenInput()));
  checkGolden("run_seconds.csv", render(writeSecondsCsv, goldenInput()));
}

TEST_CASE("the JUnit report of the fixed run matches its golden file") {
  checkGolden("run.junit.xml", render(writeJunitReport, goldenInput()));
}

// Where `part` differs from `whole` or holds a key `whole` has not ("" when nowhere):
// `whole` may have more keys (added in schema 2), never other values.
std::string firstDifference(const Json& part, const Json& whole, const std::string& path = "") {
  if (part.is_object() && whole.is_object()) {
    for (const auto& [key, value] : part.items()) {
      if (!whole.contains(key)) return path + "/" + key + " (missing)";
      std::string at = firstDifference(value, whole.at(key), path + "/" + key);
      if (!at.empty()) return at;
    }
    return "";
  }
  if (part.is_array() && whole.is_array() && part.size() == whole.size()) {
    for (std::size_t i = 0; i < part.size(); ++i) {
      std::string at = firstDifference(part[i], whole[i], path + "/" + std::to_string(i));
      if (!at.empty()) return at;
    }
    return "";
  }
  return part == whole ? "" : path + ": " + part.dump() + " vs " + whole.dump();
}

TEST_CASE("a schema-1 report reads as the golden schema-2 report, key for key") {
  const Json upgraded = schema1Input();
  CHECK(firstDifference(upgraded, goldenInput()) == "");
  Json changed = upgraded;
  changed["agents"][0]["eventsSent"] = 1;
  CHECK(firstDifference(changed, goldenInput()) == "/agents/0/eventsSent: 1 vs 5000");
}

TEST_CASE("the schema-1 reader types the options and renames the snake_case keys") {
  const Json r = schema1Input();
  CHECK(r.at("schema") == 2);
  const Json& options = r.at("run").at("options");
  CHECK(options.at("users") == Json::array({20}));
  CHECK(options.at("durationMs") == 12000);
  CHECK(options.at("insecure") == false);
  CHECK(options.at("serverUrl") == "http://127.0.0.1:8080/?a=1&b=<2>");
  CHECK_FALSE(options.contains("runId"));
  CHECK(r.at("run").at("runId") == "run-7");
  CHECK(r.at("agents").at(1).at("eventsSent").is_null());
  CHECK(r.at("agents").at(1).at("requests") == 820);
  CHECK(r.at("rebalances").at(0).at("appliesAtUs") == 1700000008000000);
  CHECK(r.at("malformedResults") == 3);
  // Cycles, and a value that is not the number its name promises, stay readable.
  const Json odd = report::upgradeReport(Json::parse(
      R"({"schema": 1, "run": {"options": {"users": "10:20", "hits": "5", "ramp_ms": "soon",
                                            "timeout_ms": "12abc", "insecure": "maybe"}}})"));
  CHECK(odd.at("run").at("options") ==
        Json::parse(R"({"users": [10, 20], "hits": [5], "rampMs": "soon", "timeoutMs": "12abc",
                        "insecure": "maybe"})"));
}

TEST_CASE("a report of a later schema, or no report at all, is refused with one sentence") {
  CHECK_THAT(report::readReport(R"({"schema": 3})").error,
             Catch::Contains("schema 3") && Catch::Contains("reads schemas 1 and 2"));
  CHECK_THAT(report::readReport("[1, 2]").error, Catch::Contains("is not a loads JSON report"));
  CHECK_THAT(report::readReport("{\"schema\": 2").error,
             Catch::Contains("is not a loads JSON report"));
  CHECK(report::readReport(R"({"schema": 2})").report);
}

TEST_CASE("the HTML report is self-contained and escapes every text from the data") {
  const std::string html = render(writeHtmlReport, goldenInput());
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("src=") == std::string::npos);
  CHECK(html.find("href=") == std::string::npos);
  CHECK(html.find("url(") == std::string::npos);
  CHECK(html.find("@import") == std::string::npos);
  // run.json holds <script>alert(1)</script> in an error message and <b> in a request name.
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("<b>bold</b>") == std::string::npos);
  CHECK(html.find("POST /comments &lt;b&gt;bold&lt;/b&gt;") != std::string::npos);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("name=\"viewport\"") != std::string::npos);
}

TEST_CASE("the JUnit report is valid against the JUnit shape (xmllint)") {
  const std::string path = loads::testing::tempPath("golden.junit.xml");
  std::ofstream(path, std::ios::binary) << render(writeJunitReport, goldenInput());
  auto r = loads::testing::runCommand({"/usr/bin/xmllint", "--noout", "--schema",
                                       LOADS_SOURCE_DIR "/tests/report/junit.xsd", path});
  INFO(r.out << r.err
             << "(xmllint comes with Debian's libxml2-utils; scripts/setup.sh installs it)");
  CHECK(r.code == 0);
}

TEST_CASE("a report missing fields, or with fields of the wrong type, still renders") {
  for (const char* text :
       {R"({"schema": 1})",
        R"({"schema": 1, "run": [], "summary": "x", "requests": {}, "tests": [1, "a", null],
                               "seconds": [{"t": "soon"}, 3], "thresholds": [{"pass": "yes"}]})"}) {
    Json report = Json::parse(text);
    CHECK_NOTHROW(render(writeHtmlReport, report));
    CHECK_NOTHROW(render(writeRequestsCsv, report));
    CHECK_NOTHROW(render(writeSecondsCsv, report));
    CHECK_NOTHROW(render(writeJunitReport, report));
  }
}

TEST_CASE("the HTML report draws req/s per agent as one line per agent over time") {
  const std::string html = render(writeHtmlReport, goldenInput());
  const auto at = html.find("<h3>req/s per agent</h3>");
  REQUIRE(at != std::string::npos);
  const std::string chart = html.substr(at, html.find("</figure>", at) - at);
  auto occurrences = [&](const std::string& needle) {
    std::size_t n = 0;
    for (auto i = chart.find(needle); i != std::string::npos; i = chart.find(needle, i + 1)) ++n;
    return n;
  };
  CHECK(occurrences("<path ") == 2);
  CHECK(occurrences("<title>agent 0</title>") == 1);
  CHECK(occurrences("<title>agent 1</title>") == 1);
}

TEST_CASE("a report without per-second sources shows each agent's average instead") {
  Json report = goldenInput();
  for (auto& second : report["seconds"]) second.erase("requestsBySource");
  const std::string html = render(writeHtmlReport, report);
  CHECK(html.find("<h3>req/s per agent (run average)</h3>") != std::string::npos);
  CHECK(html.find("<h3>req/s per agent</h3>") == std::string::npos);
  const std::string csv = render(writeSecondsCsv, report);
  CHECK(csv.find("requests_source_") == std::string::npos);
}
