#include "report/junit_report.hpp"

#include <ctime>
#include <optional>
#include <ostream>
#include <string>

#include "report/report_json.hpp"
#include "report/thresholds.hpp"

namespace loads {
namespace {

using report::count;
using report::Json;
using report::text;

constexpr std::size_t kMessagesPerTest = 5;  // top error samples quoted in a testcase

// Escapes for both text and attributes; drops what XML 1.0 cannot carry.
std::string xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\n':
        out += "&#10;";
        break;
      case '\r':
        out += "&#13;";
        break;
      case '\t':
        out += "&#9;";
        break;
      default:
        if (c >= 0x20 && c != 0x7f) out += ch;
    }
  }
  return out;
}

std::string isoTime(std::int64_t epochUs) {
  std::time_t seconds = static_cast<std::time_t>(epochUs > 0 ? epochUs / 1'000'000 : 0);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string attr(std::string_view name, const std::string& value) {
  return " " + std::string(name) + "=\"" + xml(value) + "\"";
}

// The most frequent error samples of one test, one per line.
std::string topErrors(const Json& r, const std::string& test, std::string& firstType) {
  std::string out;
  std::size_t n = 0;
  for (const auto& s : report::arrayField(report::objectField(r, "errors"), "samples")) {
    if (text(s, "test") != test) continue;
    if (n == 0) firstType = text(s, "type");
    if (++n > kMessagesPerTest) break;
    out += text(s, "count") + "x " + text(s, "kind") + " " + text(s, "type") + ": " +
           text(s, "message");
    if (!text(s, "file").empty()) out += " (" + text(s, "file") + ":" + text(s, "line") + ")";
    out += "\n";
  }
  if (!out.empty()) out.pop_back();  // no newline after the last message
  return out;
}

std::string testCase(const Json& r, const Json& t) {
  const std::string name = text(t, "name");
  const std::size_t dot = name.find('.');
  const std::string cls = dot == std::string::npos ? "loads" : name.substr(0, dot);
  const std::string method = dot == std::string::npos ? name : name.substr(dot + 1);
  const std::uint64_t hits = count(t, "hits"), failures = count(t, "failures"),
                      errors = count(t, "errors");
  const Json& hitTime = report::objectField(t, "hitTimeUs");
  const double seconds = report::number(hitTime, "mean") * count(hitTime, "count") / 1e6;

  std::string out = "    <testcase" + attr("classname", cls) + attr("name", method) +
                    attr("time", report::fixed(seconds, 3)) + ">\n";
  std::string type;
  std::string messages = topErrors(r, name, type);
  const std::string tally = std::to_string(failures) + " failures and " + std::to_string(errors) +
                            " errors in " + std::to_string(hits) + " hits";
  if (errors > 0 || failures > 0) {
    const char* element = errors > 0 ? "error" : "failure";
    out += std::string("      <") + element + attr("message", tally) +
           attr("type", type.empty() ? element : type) + ">" + xml(messages) + "</" + element +
           ">\n";
  } else if (count(t, "skips") > 0 && count(t, "successes") == 0) {
    out += "      <skipped" +
           attr("message", "all " + std::to_string(count(t, "skips")) + " hits skipped") + "/>\n";
  }
  out += "      <system-out>" +
         xml("hits " + std::to_string(hits) + ", successes " + text(t, "successes") +
             ", failures " + std::to_string(failures) + ", errors " + std::to_string(errors) +
             ", skips " + text(t, "skips") + ", cancelled " + text(t, "cancelled")) +
         "</system-out>\n    </testcase>\n";
  return out;
}

std::string thresholdCase(const Json& t) {
  const Json& observed = report::field(t, "observed");
  std::optional<double> value;
  if (observed.is_number()) value = observed.get<double>();
  auto unit = unitFromName(text(t, "unit")).value_or(ThresholdUnit::kCount);
  const std::string seen = "observed " + formatObserved(value, unit) +
                           (report::flag(t, "abortedRun") ? "; it aborted the run" : "");
  std::string out = "    <testcase" + attr("classname", "thresholds") +
                    attr("name", text(t, "expression")) + attr("time", "0.000") + ">\n";
  if (!report::flag(t, "pass"))
    out += "      <failure" + attr("message", seen) + attr("type", "threshold") + "/>\n";
  return out + "      <system-out>" + xml(seen) + "</system-out>\n    </testcase>\n";
}

}  // namespace

void writeJunitReport(const Json& r, std::ostream& os) {
  const Json& run = report::objectField(r, "run");
  const std::string timestamp = isoTime(report::integer(run, "startedUs"));
  const std::string duration =
      report::fixed(report::number(report::objectField(r, "summary"), "durationSeconds"), 3);

  std::uint64_t failed = 0, errored = 0, skipped = 0;
  std::string cases;
  const Json& tests = report::arrayField(r, "tests");
  for (const auto& t : tests) {
    if (count(t, "errors"))
      ++errored;
    else if (count(t, "failures"))
      ++failed;
    else if (count(t, "skips") && !count(t, "successes"))
      ++skipped;
    cases += testCase(r, t);
  }
  std::uint64_t thresholdsFailed = 0;
  std::string thresholdCases;
  const Json& thresholds = report::arrayField(r, "thresholds");
  for (const auto& t : thresholds) {
    if (!report::flag(t, "pass")) ++thresholdsFailed;
    thresholdCases += thresholdCase(t);
  }

  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  out += "<testsuites" + attr("name", "loads " + text(run, "library")) +
         attr("tests", std::to_string(tests.size() + thresholds.size())) +
         attr("failures", std::to_string(failed + thresholdsFailed)) +
         attr("errors", std::to_string(errored)) + attr("time", duration) + ">\n";
  out += "  <testsuite" + attr("name", "loads.tests") +
         attr("tests", std::to_string(tests.size())) + attr("failures", std::to_string(failed)) +
         attr("errors", std::to_string(errored)) + attr("skipped", std::to_string(skipped)) +
         attr("time", duration) + attr("timestamp", timestamp) + ">\n";
  out += "    <properties>\n";
  out += "      <property" + attr("name", "library") + attr("value", text(run, "library")) + "/>\n";
  for (const auto& [key, value] : report::objectField(run, "options").items()) {
    out +=
        "      <property" + attr("name", key) + attr("value", report::optionText(value)) + "/>\n";
  }
  if (!text(run, "runId").empty())
    out += "      <property" + attr("name", "runId") + attr("value", text(run, "runId")) + "/>\n";
  out +=
      "      <property" + attr("name", "exitCode") + attr("value", text(run, "exitCode")) + "/>\n";
  out += "    </properties>\n" + cases + "  </testsuite>\n";
  if (!thresholds.empty()) {
    out += "  <testsuite" + attr("name", "loads.thresholds") +
           attr("tests", std::to_string(thresholds.size())) +
           attr("failures", std::to_string(thresholdsFailed)) + attr("errors", "0") +
           attr("skipped", "0") + attr("time", "0.000") + attr("timestamp", timestamp) + ">\n" +
           thresholdCases + "  </testsuite>\n";
  }
  os << out << "</testsuites>\n";
}

}  // namespace loads
