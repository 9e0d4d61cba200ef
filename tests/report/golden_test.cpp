// Golden tests of the report writers: a fixed JSON report (tests/report/golden/run.json,
// with hostile text in names and error messages) rendered to HTML, CSV and JUnit must
// equal the checked-in files byte for byte. After an intended change, regenerate them:
//   LOADS_UPDATE_GOLDEN=1 build/tests/report_golden_test
// and review the diff.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "report/csv_report.hpp"
#include "report/html_report.hpp"
#include "report/junit_report.hpp"
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

Json goldenInput() { return Json::parse(readFile(kGolden + "run.json")); }

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
