#include "master/report_files.hpp"

#include <algorithm>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "proto/messages.hpp"
#include "report/csv_report.hpp"
#include "report/html_report.hpp"
#include "report/junit_report.hpp"
#include "report/report_json.hpp"
#include "stats/aggregate_result.hpp"

namespace loads::master {
namespace {

using Json = nlohmann::ordered_json;

// Writes what `render` produces to `path`; one sentence on stderr on failure.
template <class Render>
bool writeFile(const std::string& path, Render&& render) {
  std::ofstream out(path, std::ios::binary);
  if (out) render(out);
  out.flush();
  if (!out) {
    std::cerr << "loads-master: cannot write " << path
              << ": check that its folder exists and is writable" << std::endl;
    return false;
  }
  return true;
}

// The rendered outputs (everything but --json) from the report as read back from text.
bool renderOutputs(const MasterOptions& o, const Json& report) {
  bool ok = true;
  if (!o.htmlFile.empty()) {
    ok = writeFile(o.htmlFile, [&](std::ostream& out) { writeHtmlReport(report, out); }) && ok;
  }
  if (!o.csvPrefix.empty()) {
    ok = writeFile(o.csvPrefix + "_requests.csv",
                   [&](std::ostream& out) { writeRequestsCsv(report, out); }) &&
         ok;
    ok = writeFile(o.csvPrefix + "_seconds.csv",
                   [&](std::ostream& out) { writeSecondsCsv(report, out); }) &&
         ok;
  }
  if (!o.junitFile.empty()) {
    ok = writeFile(o.junitFile, [&](std::ostream& out) { writeJunitReport(report, out); }) && ok;
  }
  return ok;
}

}  // namespace

void checkReportOptions(MasterOptions& o, const std::vector<std::string>& thresholds) {
  for (const auto& text : thresholds) o.thresholds.push_back(parseThreshold(text));
  if (!o.reportFile.empty()) {
    if (!o.library.empty()) {
      throw std::invalid_argument("--report re-renders a saved run: drop the test library " +
                                  o.library);
    }
    if (!o.thresholds.empty() || o.abortOnFail) {
      throw std::invalid_argument(
          "--threshold is evaluated during a run; --report shows the thresholds saved in the JSON");
    }
    if (o.htmlFile.empty() && o.csvPrefix.empty() && o.junitFile.empty()) {
      throw std::invalid_argument("--report needs something to write: --html, --csv or --junit");
    }
    if (!o.jsonFile.empty())
      throw std::invalid_argument("--report reads JSON; it does not write --json");
  }
  if (o.abortOnFail && o.thresholds.empty()) {
    throw std::invalid_argument("--abort-on-fail needs at least one --threshold");
  }
  if (o.abortOnFail && std::none_of(o.thresholds.begin(), o.thresholds.end(), canAbort)) {
    std::cerr << "loads-master: none of the thresholds can abort a run (only counts and "
                 "max/min latencies can; see docs/thresholds.md): they are checked at the end"
              << std::endl;
  }
}

int exitCodeWithThresholds(int code, const std::vector<ThresholdResult>& results) {
  if (code == 2 || code == 3) return code;
  for (const auto& r : results) {
    if (!r.pass) return 99;
  }
  return code;
}

void printThresholds(const std::vector<ThresholdResult>& results, std::ostream& out) {
  if (results.empty()) return;
  std::size_t width = 0;
  for (const auto& r : results) width = std::max(width, r.expression.size());
  out << "\nThresholds\n";
  for (const auto& r : results) {
    out << "  " << (r.pass ? "pass  " : "FAIL  ") << r.expression
        << std::string(width - r.expression.size() + 2, ' ') << "observed "
        << formatObserved(r.observed, r.unit) << (r.abortedRun ? "  (aborted the run)" : "")
        << '\n';
  }
  out << std::flush;
}

std::optional<std::size_t> hopelessThreshold(const std::vector<Threshold>& thresholds,
                                             const Snapshot& snapshot) {
  for (std::size_t i = 0; i < thresholds.size(); ++i) {
    if (cannotPass(thresholds[i], snapshot)) return i;
  }
  return std::nullopt;
}

bool wantsReportFiles(const MasterOptions& o) {
  return !o.jsonFile.empty() || !o.htmlFile.empty() || !o.csvPrefix.empty() || !o.junitFile.empty();
}

bool writeReportFiles(const MasterOptions& o, const Json& report) {
  // Error messages come from user code and servers: replace invalid UTF-8, never throw.
  const std::string text =
      report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  bool ok = true;
  if (!o.jsonFile.empty()) {
    ok = writeFile(o.jsonFile, [&](std::ostream& out) { out << text; });
  }
  return renderOutputs(o, Json::parse(text)) && ok;
}

int testsExitCode(const Snapshot& snapshot) {
  for (const auto& [name, test] : snapshot.tests) {
    if (test.failures > 0 || test.errors > 0) return 1;
  }
  return 0;
}

RunFacts describeRun(const MasterOptions& o, const std::vector<std::string>& tests,
                     std::chrono::system_clock::time_point startedAt) {
  RunFacts facts;
  facts.library = o.library;
  facts.tests = tests;
  const RunOptions& run = o.run;
  ReportOptions& options = facts.options;
  options.users = run.userCycles;
  options.hits = run.hitCycles;
  if (run.duration) options.durationMs = run.duration->count();
  options.rampMs = run.ramp.count();
  options.threads = run.threads;
  options.maxNames = o.maxNames;
  options.stopTimeoutMs = run.stopTimeout.count();
  options.serverUrl = run.user.serverUrl;
  options.insecure = run.user.insecure;
  options.timeoutMs = run.user.requestTimeout.count();
  if (run.rate) {  // open model (issue 4)
    options.rateStart = run.rate->start();
    options.rateStages = formatStages(run.rate->stages());
    options.maxUsers = run.maxUsers;
  }
  if (run.userStages) options.stages = formatStages(run.userStages->stages());
  if (o.agents > 0) {
    options.agents = o.agents;
    options.broker = o.broker;
  }
  options.params = run.params;
  for (const auto& [name, path] : run.files) {
    std::ifstream in(path, std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    options.include.push_back({name, bytes.size(), proto::sha256Hex(bytes)});
  }
  facts.startedUs =
      std::chrono::duration_cast<std::chrono::microseconds>(startedAt.time_since_epoch()).count();
  return facts;
}

int finishRun(const MasterOptions& o, const Snapshot& snapshot, RunFacts facts, int code,
              std::optional<std::size_t> abortedBy) {
  facts.thresholds = evaluateThresholds(o.thresholds, snapshot);
  if (abortedBy) facts.thresholds[*abortedBy].abortedRun = true;
  printThresholds(facts.thresholds, std::cout);
  code = exitCodeWithThresholds(code, facts.thresholds);
  if (wantsReportFiles(o)) {
    facts.endedUs = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
    facts.exitCode = code;
    if (!writeReportFiles(o, jsonReport(snapshot, facts))) return 2;
  }
  return code;
}

int renderSavedReport(const MasterOptions& o) {
  std::ifstream in(o.reportFile, std::ios::binary);
  if (!in) {
    std::cerr << "loads-master: cannot read " << o.reportFile << std::endl;
    return 2;
  }
  std::stringstream text;
  text << in.rdbuf();
  report::ReadReport read = report::readReport(text.str());
  if (!read.report) {
    std::cerr << "loads-master: " << o.reportFile << " " << read.error << std::endl;
    return 2;
  }
  return renderOutputs(o, *read.report) ? 0 : 2;
}

}  // namespace loads::master
