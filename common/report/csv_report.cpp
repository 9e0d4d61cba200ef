#include "report/csv_report.hpp"

#include <ostream>
#include <string>
#include <vector>

#include "report/report_json.hpp"

namespace loads {
namespace {

using report::Json;

std::string quoted(const std::string& field) {
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string out = "\"";
  for (char c : field) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void line(std::ostream& out, const std::vector<std::string>& fields) {
  for (std::size_t i = 0; i < fields.size(); ++i) out << (i ? "," : "") << quoted(fields[i]);
  out << '\n';
}

std::string num(const Json& j, std::string_view key) {
  return std::to_string(report::integer(j, key));
}

// HTTP phase timings (docs/json-report.md, phasesUs), in loads::Phase order.
constexpr std::string_view kPhases[] = {"dns",     "connecting", "tls",
                                        "sending", "waiting",    "receiving"};

std::vector<std::string> requestRow(const Json& q) {
  const Json& l = report::objectField(q, "latencyUs");
  std::vector<std::string> row{report::text(q, "name"), num(q, "requests"), num(q, "failures"),
                               report::fixed(report::number(q, "ratePerSecond"), 3),
                               num(q, "bytes")};
  for (const char* key : {"min", "p50", "p90", "p95", "p99", "p99.9", "max"})
    row.push_back(num(l, key));
  row.push_back(report::fixed(report::number(l, "mean"), 1));
  const Json& phases = report::objectField(q, "phasesUs");
  for (std::string_view phase : kPhases) {
    const Json& p = report::objectField(phases, phase);
    row.push_back(report::fixed(report::number(p, "mean"), 1));
    row.push_back(num(p, "p95"));
  }
  return row;
}

}  // namespace

void writeRequestsCsv(const Json& r, std::ostream& out) {
  std::vector<std::string> header{"name",     "requests", "failures", "rate_per_second", "bytes",
                                  "min_us",   "p50_us",   "p90_us",   "p95_us",          "p99_us",
                                  "p99_9_us", "max_us",   "mean_us"};
  for (std::string_view phase : kPhases) {
    header.push_back(std::string(phase) + "_mean_us");
    header.push_back(std::string(phase) + "_p95_us");
  }
  line(out, header);
  for (const auto& q : report::arrayField(r, "requests")) line(out, requestRow(q));
  if (report::field(r, "allRequests").is_object()) line(out, requestRow(r["allRequests"]));
}

// One requests_source_<key> column per source of the series (agent index or "other").
void writeSecondsCsv(const Json& r, std::ostream& out) {
  std::vector<std::string> header{"t",      "elapsed_s", "requests", "errors", "test_failures",
                                  "p50_us", "p95_us",    "p99_us",   "users",  "complete"};
  const std::vector<std::string> sources = report::secondSourceKeys(r);
  for (const auto& key : sources) header.push_back("requests_source_" + key);
  line(out, header);
  const Json& seconds = report::arrayField(r, "seconds");
  const std::int64_t first = seconds.empty() ? 0 : report::integer(seconds.front(), "t");
  for (const auto& s : seconds) {
    const std::int64_t t = report::integer(s, "t");
    std::vector<std::string> row{
        std::to_string(t),      std::to_string(t - first),
        num(s, "requests"),     num(s, "errors"),
        num(s, "testFailures"), num(s, "p50Us"),
        num(s, "p95Us"),        num(s, "p99Us"),
        num(s, "users"),        report::flag(s, "complete") ? "true" : "false"};
    const Json& bySource = report::objectField(s, "requestsBySource");
    for (const auto& key : sources) row.push_back(num(bySource, key));
    line(out, row);
  }
}

}  // namespace loads
