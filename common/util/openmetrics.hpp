// Writing the OpenMetrics text format (the /metrics of loads-master and loads-broker):
// one MetricsFamily per metric, its samples appended in order. Header-only, no
// dependencies, so the broker uses it without the report library.
//
// Thread-safety: a MetricsFamily appends to the caller's string; one owner.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace loads {

// The content type of an OpenMetrics exposition.
inline constexpr const char* kOpenMetricsContentType =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

// A label value escaped for the text format (backslash, double quote, newline).
inline std::string metricsLabel(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

// key="value", escaped.
inline std::string metricsLabel(std::string_view key, std::string_view value) {
  return std::string(key) + "=\"" + metricsLabel(value) + "\"";
}

// One metric family: its TYPE and HELP lines, then its samples.
class MetricsFamily {
 public:
  MetricsFamily(std::string& out, std::string_view name, std::string_view type,
                std::string_view help)
      : out_(out), name_(name) {
    out_.append("# TYPE ").append(name).append(" ").append(type).append("\n");
    out_.append("# HELP ").append(name).append(" ").append(help).append("\n");
  }
  // name + suffix {labels} value; `labels` is already escaped: k="v",k="v" (or empty).
  MetricsFamily& sample(std::string_view suffix, std::string_view labels, std::string_view value) {
    out_.append(name_).append(suffix);
    if (!labels.empty()) out_.append("{").append(labels).append("}");
    out_.append(" ").append(value).append("\n");
    return *this;
  }
  MetricsFamily& sample(std::string_view suffix, std::string_view labels, std::uint64_t value) {
    return sample(suffix, labels, std::string_view(std::to_string(value)));
  }

 private:
  std::string& out_;
  std::string_view name_;
};

}  // namespace loads
