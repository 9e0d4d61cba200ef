#include "report/report_json.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <tuple>

namespace loads::report {
namespace {

const Json kNull;
const Json kEmptyArray = Json::array();
const Json kEmptyObject = Json::object();

}  // namespace

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
