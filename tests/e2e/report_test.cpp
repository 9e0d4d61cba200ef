// End-to-end tests of thresholds and report files: the real loads-master against the
// real target, checking exit codes, what each output says, and that --report re-renders
// a saved run to the same bytes.
#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <sstream>

#include "report/csv_report.hpp"
#include "report/html_report.hpp"
#include "report/junit_report.hpp"
#include "report/report_json.hpp"
#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::testing;
using nlohmann::json;

namespace {

const std::string kBlog = built("examples/blog/libblog.so");
const std::string kOutcomes = built("tests/libs/liboutcomes.so");

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t lines(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) n += c == '\n';
  return n;
}

}  // namespace

TEST_CASE("a failing threshold exits 99 and every output says which one failed") {
  TargetProcess target;
  const std::string jsonFile = tempPath("thr.json"), html = tempPath("thr.html"),
                    junit = tempPath("thr.junit.xml"), csv = tempPath("thr");
  auto r = runMaster({kBlog,
                      "--test",
                      "Blog.test_home",
                      "-u",
                      "4",
                      "--hits",
                      "10",
                      "--server-url",
                      target.url(),
                      "--quiet",
                      "--json",
                      jsonFile,
                      "--html",
                      html,
                      "--junit",
                      junit,
                      "--csv",
                      csv,
                      "--threshold",
                      "http_reqs:count==40",
                      "--threshold",
                      "http_req_duration{name:/}:max<1us"});
  INFO(r.out << r.err);
  REQUIRE(r.code == 99);
  CHECK(r.out.find("pass  http_reqs:count==40") != std::string::npos);
  CHECK(r.out.find("FAIL  http_req_duration{name:/}:max<1us") != std::string::npos);

  json j = readJson(jsonFile);
  CHECK(j["schema"] == 2);
  CHECK(j["run"]["exitCode"] == 99);
  // Options keep their types (schema 2): numbers are numbers, cycles arrays of them.
  CHECK(j["run"]["options"]["users"] == json::array({4}));
  CHECK(j["run"]["options"]["hits"] == json::array({10}));
  CHECK(j["run"]["options"]["stopTimeoutMs"].is_number_integer());
  CHECK(j["run"]["options"]["insecure"] == false);
  CHECK(j["run"]["options"]["serverUrl"] == target.url());
  REQUIRE(j["thresholds"].size() == 2);
  CHECK(j["thresholds"][0]["expression"] == "http_reqs:count==40");
  CHECK(j["thresholds"][0]["pass"] == true);
  CHECK(j["thresholds"][0]["observed"] == 40);
  CHECK(j["thresholds"][1]["pass"] == false);
  CHECK(j["thresholds"][1]["observed"].get<double>() >= 1);
  CHECK(j["thresholds"][1]["unit"] == "us");
  for (const auto& s : j["seconds"]) {  // the series carries p95 between p50 and p99
    CHECK(s["p50Us"] <= s["p95Us"]);
    CHECK(s["p95Us"] <= s["p99Us"]);
  }

  const std::string xml = readFile(junit);
  auto lint = runCommand({"/usr/bin/xmllint", "--noout", "--schema",
                          LOADS_SOURCE_DIR "/tests/report/junit.xsd", junit});
  INFO(lint.out << lint.err);
  CHECK(lint.code == 0);
  CHECK(xml.find("<testsuite name=\"loads.thresholds\" tests=\"2\" failures=\"1\"") !=
        std::string::npos);
  CHECK(xml.find("name=\"http_req_duration{name:/}:max&lt;1us\" time=\"0.000\">\n      <failure") !=
        std::string::npos);
  CHECK(xml.find("name=\"http_reqs:count==40\" time=\"0.000\">\n      <system-out>") !=
        std::string::npos);
  CHECK(xml.find("<testcase classname=\"Blog\" name=\"test_home\"") != std::string::npos);

  CHECK(readFile(html).find("http_req_duration{name:/}:max&lt;1us") != std::string::npos);
  CHECK(lines(readFile(csv + "_requests.csv")) == 3);  // header, GET /, total
  CHECK(readFile(csv + "_requests.csv").find("\nGET /,40,0,") != std::string::npos);
  CHECK(lines(readFile(csv + "_seconds.csv")) == 1 + j["seconds"].size());

  SECTION("--report re-renders the saved run to the same bytes") {
    const std::string html2 = tempPath("rerendered.html"), junit2 = tempPath("rerendered.xml"),
                      csv2 = tempPath("rerendered");
    auto again =
        runMaster({"--report", jsonFile, "--html", html2, "--junit", junit2, "--csv", csv2});
    INFO(again.out << again.err);
    REQUIRE(again.code == 0);
    CHECK(readFile(html2) == readFile(html));
    CHECK(readFile(junit2) == readFile(junit));
    CHECK(readFile(csv2 + "_requests.csv") == readFile(csv + "_requests.csv"));
    CHECK(readFile(csv2 + "_seconds.csv") == readFile(csv + "_seconds.csv"));
  }
}

TEST_CASE("a schema-1 report re-rendered with --report gives the files of its schema-2 form") {
  const std::string schema1 = LOADS_SOURCE_DIR "/tests/report/schema1/run.json";
  const std::string html = tempPath("schema1.html"), junit = tempPath("schema1.xml"),
                    csv = tempPath("schema1");
  auto r = runMaster({"--report", schema1, "--html", html, "--junit", junit, "--csv", csv});
  INFO(r.out << r.err);
  REQUIRE(r.code == 0);
  auto read = loads::report::readReport(readFile(schema1));
  REQUIRE(read.report);
  CHECK(read.report->at("schema") == 2);
  auto rendered = [&](auto write) {
    std::ostringstream out;
    write(*read.report, out);
    return out.str();
  };
  CHECK(readFile(html) == rendered(loads::writeHtmlReport));
  CHECK(readFile(junit) == rendered(loads::writeJunitReport));
  CHECK(readFile(csv + "_requests.csv") == rendered(loads::writeRequestsCsv));
  CHECK(readFile(csv + "_seconds.csv") == rendered(loads::writeSecondsCsv));
  CHECK(readFile(html).find("<tr><td>durationMs</td><td class=\"text\">12000</td></tr>") !=
        std::string::npos);

  const std::string later = tempPath("schema3.json");
  std::ofstream(later) << R"({"schema": 3})";
  r = runMaster({"--report", later, "--html", tempPath("schema3.html")});
  CHECK(r.code == 2);
  CHECK(r.err == "loads-master: " + later +
                     " has JSON schema 3; this loads-master reads schemas 1 and 2: re-render it "
                     "with the loads that wrote it\n");
}

TEST_CASE("a failed threshold outranks test failures, passing ones keep exit 1") {
  TargetProcess target;
  std::vector<std::string> args{kOutcomes, "--test", "Outcomes.test_fail", "-u",         "2",
                                "--hits",  "3",      "--server-url",       target.url(), "--quiet"};
  auto passing = args;
  passing.insert(passing.end(),
                 {"--threshold", "errors:count==6", "--threshold", "checks:rate<=0"});
  auto r = runMaster(passing);
  INFO(r.out << r.err);
  CHECK(r.code == 1);
  auto failing = args;
  failing.insert(failing.end(), {"--threshold", "errors:rate<0.5"});
  r = runMaster(failing);
  CHECK(r.code == 99);
}

TEST_CASE("with --abort-on-fail, a count past its bound stops the run early") {
  TargetProcess target;
  const std::string jsonFile = tempPath("abort.json");
  const auto start = std::chrono::steady_clock::now();
  auto r = runMaster({kBlog, "--test", "Blog.test_home", "-u", "2", "-d", "60s", "--server-url",
                      target.url(), "--quiet", "--json", jsonFile, "--abort-on-fail", "--threshold",
                      "http_reqs:count<20", "--threshold", "errors:rate<0.5"});
  INFO(r.out << r.err);
  CHECK(r.code == 99);
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(20));
  CHECK(r.err.find("threshold 'http_reqs:count<20' can no longer pass") != std::string::npos);
  json j = readJson(jsonFile);
  CHECK(j["thresholds"][0]["abortedRun"] == true);
  CHECK(j["thresholds"][0]["pass"] == false);
  CHECK(j["thresholds"][1]["abortedRun"] == false);
  CHECK(j["summary"]["durationSeconds"].get<double>() < 15);
}

TEST_CASE("a bad threshold or report option is a usage error with one clear sentence") {
  auto r = runMaster({kBlog, "--threshold", "http_req_duration:p99<250ms"});
  CHECK(r.code == 2);
  CHECK(r.err ==
        "loads-master: --threshold 'http_req_duration:p99<250ms': 'p99' is not an "
        "aggregation of http_req_duration; use avg, min, max, med or p(N)\n");
  r = runMaster({kBlog, "--abort-on-fail"});
  CHECK(r.code == 2);
  CHECK(r.err.find("--abort-on-fail needs at least one --threshold") != std::string::npos);
  r = runMaster({"--report", tempPath("missing.json"), "--html", tempPath("x.html")});
  CHECK(r.code == 2);
  CHECK(r.err.find("cannot read") != std::string::npos);
  const std::string notJson = tempPath("not.json");
  std::ofstream(notJson) << "hello";
  r = runMaster({"--report", notJson, "--html", tempPath("x.html")});
  CHECK(r.code == 2);
  CHECK(r.err.find("is not a loads JSON report") != std::string::npos);
  r = runMaster({"--report", notJson});
  CHECK(r.code == 2);
  CHECK(r.err.find("--report needs something to write") != std::string::npos);
}
