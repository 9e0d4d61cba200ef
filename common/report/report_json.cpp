#include "report/report_json.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <stdexcept>
#include <tuple>

#include "util/parse.hpp"

namespace loads::report {
namespace {

const Json kNull;
const Json kEmptyArray = Json::array();
const Json kEmptyObject = Json::object();

// "events_sent" -> "eventsSent".
std::string camelCase(std::string_view key) {
  std::string out;
  bool upper = false;
  for (char c : key) {
    if (c == '_') {
      upper = !out.empty();
    } else {
      out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      upper = false;
    }
  }
  return out;
}

// Every key of `object` in camelCase, `renamed` first ("hits" -> "requests").
void renameKeys(Json& object, const std::map<std::string, std::string>& renamed = {}) {
  if (!object.is_object()) return;
  Json out = Json::object();
  for (auto& [key, value] : object.items()) {
    auto it = renamed.find(key);
    out[it == renamed.end() ? camelCase(key) : it->second] = std::move(value);
  }
  object = std::move(out);
}

// The whole of `text` as a number read by `parse` (std::stoll, ...); throws otherwise.
template <class Parse>
auto whole(const std::string& text, Parse parse) {
  std::size_t used = 0;
  auto value = parse(text, &used);
  if (used != text.size()) throw std::invalid_argument(text);
  return value;
}

// Schema 1 wrote every option as text; schema 2 keeps their types.
Json typedOption(const std::string& key, const Json& value) {
  if (!value.is_string()) return value;
  const std::string text = value.get<std::string>();
  const auto endsWith = [&](std::string_view tail) {
    return key.size() > tail.size() &&
           key.compare(key.size() - tail.size(), tail.size(), tail) == 0;
  };
  try {
    if (key == "users" || key == "hits") return parseCycles(text, key);
    if (key == "insecure" && (text == "true" || text == "false")) return text == "true";
    if (key == "rateStart") return whole(text, [](auto& t, auto* n) { return std::stod(t, n); });
    if (endsWith("Ms")) return whole(text, [](auto& t, auto* n) { return std::stoll(t, n); });
    if (key == "threads" || key == "maxUsers" || key == "agents" || key == "maxNames") {
      return whole(text, [](auto& t, auto* n) { return std::stoull(t, n); });
    }
  } catch (const std::exception&) {
    // Not the number its name promises: kept as text, as every reader reads any scalar.
  }
  return value;
}

void upgradeOptions(Json& run) {
  if (!run.is_object() || !run.contains("options") || !run["options"].is_object()) return;
  Json& options = run["options"];
  renameKeys(options);
  for (auto& [key, value] : options.items()) value = typedOption(key, value);
  if (options.contains("runId")) {
    Json runId = std::move(options["runId"]);
    options.erase("runId");
    run["runId"] = std::move(runId);  // after the last use of `options`: this may move it
  }
}

}  // namespace

ReadReport readReport(std::string_view text) {
  Json report = Json::parse(text, nullptr, false);
  if (report.is_discarded() || !report.is_object() || !report.contains("schema")) {
    return {std::nullopt, "is not a loads JSON report (written by loads-master --json)"};
  }
  const std::int64_t schema = integer(report, "schema");
  if (schema != 1 && schema != 2) {
    return {std::nullopt, "has JSON schema " + scalarText(report["schema"]) +
                              "; this loads-master reads schemas 1 and 2: re-render it with "
                              "the loads that wrote it"};
  }
  return {upgradeReport(std::move(report)), ""};
}

Json upgradeReport(Json report) {
  if (integer(report, "schema") != 1) return report;
  report["schema"] = 2;
  if (report.contains("run")) upgradeOptions(report["run"]);
  if (report.contains("agents") && report["agents"].is_array()) {
    for (Json& agent : report["agents"]) renameKeys(agent, {{"hits", "requests"}});
  }
  if (report.contains("rebalances") && report["rebalances"].is_array()) {
    for (Json& event : report["rebalances"]) renameKeys(event);
  }
  if (report.contains("malformed_results")) {
    report["malformedResults"] = report["malformed_results"];
    report.erase("malformed_results");
  }
  return report;
}

const Json& field(const Json& j, std::string_view key) {
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

const Json& arrayField(const Json& j, std::string_view key) {
  const Json& f = field(j, key);
  return f.is_array() ? f : kEmptyArray;
}

const Json& objectField(const Json& j, std::string_view key) {
  const Json& f = field(j, key);
  return f.is_object() ? f : kEmptyObject;
}

double number(const Json& j, std::string_view key) {
  const Json& f = field(j, key);
  return f.is_number() ? f.get<double>() : 0.0;
}

std::int64_t integer(const Json& j, std::string_view key) {
  const Json& f = field(j, key);
  if (f.is_number_integer()) return f.get<std::int64_t>();
  if (f.is_number_unsigned()) return static_cast<std::int64_t>(f.get<std::uint64_t>());
  if (f.is_number_float() && std::isfinite(f.get<double>())) return std::llround(f.get<double>());
  return 0;
}

std::uint64_t count(const Json& j, std::string_view key) {
  const Json& f = field(j, key);
  if (f.is_number_unsigned()) return f.get<std::uint64_t>();
  std::int64_t v = integer(j, key);
  return v > 0 ? static_cast<std::uint64_t>(v) : 0;
}

std::string scalarText(const Json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "";
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string optionText(const Json& value) {
  if (!value.is_array()) return scalarText(value);
  std::string out;
  for (const Json& cycle : value) out += (out.empty() ? "" : ":") + scalarText(cycle);
  return out;
}

std::string text(const Json& j, std::string_view key) { return scalarText(field(j, key)); }

bool flag(const Json& j, std::string_view key) {
  const Json& f = field(j, key);
  return f.is_boolean() && f.get<bool>();
}

std::vector<std::string> secondSourceKeys(const Json& report) {
  std::vector<std::string> keys;
  for (const auto& second : arrayField(report, "seconds")) {
    for (const auto& [key, n] : objectField(second, "requestsBySource").items()) {
      if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    }
  }
  auto rank = [](const std::string& k) { return std::tuple(k == "other", k.size(), k); };
  std::sort(keys.begin(), keys.end(),
            [&](const std::string& a, const std::string& b) { return rank(a) < rank(b); });
  return keys;
}

std::string utcTime(std::int64_t epochUs) {
  if (epochUs <= 0) return "unknown";
  std::time_t seconds = static_cast<std::time_t>(epochUs / 1'000'000);
  std::tm tm{};
  if (!gmtime_r(&seconds, &tm)) return "unknown";
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::isfinite(value) ? value : 0.0);
  return buf;
}

std::string_view exitCodeMeaning(std::int64_t code) {
  switch (code) {
    case 0:
      return "success";
    case 1:
      return "test failures or errors";
    case 2:
      return "usage or configuration error";
    case 3:
      return "infrastructure error";
    case 99:
      return "a threshold failed";
    default:
      return "unknown exit code";
  }
}

}  // namespace loads::report
