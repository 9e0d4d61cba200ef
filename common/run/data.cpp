// loads/data.hpp: dataFile() and config() over the run's data (run/run_data.hpp).
#include "loads/data.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

#include "run/run_data.hpp"

namespace loads {

std::string dataFile(std::string_view name) {
  std::string key(name);
  if (auto path = detail::runFile(key)) return *path;
  // "data/users.csv" is the file included as users.csv.
  if (const auto slash = key.rfind('/'); slash != std::string::npos) {
    if (auto path = detail::runFile(key.substr(slash + 1))) return *path;
  }
  throw std::runtime_error("the data file " + key +
                           " is not part of this run: give loads-master --include " + key +
                           " (the same option ships it to every agent)");
}

std::optional<std::string> Config::find(std::string_view key) const {
  return detail::runParam(std::string(key));
}

std::string Config::get(std::string_view key, std::string_view fallback) const {
  return find(key).value_or(std::string(fallback));
}

std::int64_t Config::getInt(std::string_view key, std::int64_t fallback) const {
  const auto value = find(key);
  if (!value) return fallback;
  errno = 0;
  char* end = nullptr;
  const long long n = std::strtoll(value->c_str(), &end, 10);
  if (value->empty() || *end != '\0' || errno == ERANGE) {
    throw std::invalid_argument("--param " + std::string(key) + "=" + *value +
                                " is not a whole number");
  }
  return n;
}

double Config::getDouble(std::string_view key, double fallback) const {
  const auto value = find(key);
  if (!value) return fallback;
  char* end = nullptr;
  const double x = std::strtod(value->c_str(), &end);
  if (value->empty() || *end != '\0') {
    throw std::invalid_argument("--param " + std::string(key) + "=" + *value + " is not a number");
  }
  return x;
}

bool Config::getBool(std::string_view key, bool fallback) const {
  const auto value = find(key);
  if (!value) return fallback;
  std::string v = *value;
  std::transform(v.begin(), v.end(), v.begin(), [](unsigned char c) { return std::tolower(c); });
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  throw std::invalid_argument("--param " + std::string(key) + "=" + *value +
                              " is not true or false");
}

const Config& config() {
  static const Config instance;
  return instance;
}

}  // namespace loads
