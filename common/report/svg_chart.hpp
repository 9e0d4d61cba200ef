// Inline SVG charts for the HTML report: line charts over time and horizontal bars.
//
// The output is a self-contained <figure> (no scripts, no fonts, no network) that scales
// with its container (viewBox, width 100%). It is deterministic: the same input gives
// the same bytes, so golden tests can compare it. Labels are HTML-escaped here.
// Thread-safety: plain functions over values; no shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loads::report {

struct ChartSeries {
  std::string name;                           // legend text
  std::string color;                          // CSS colour, e.g. "#1f77b4"
  std::vector<std::optional<double>> values;  // one per x; nullopt leaves a gap
};

struct LineChart {
  std::string title;
  std::string unit;       // appended to the y-axis labels, e.g. "ms"; default none
  std::vector<double> x;  // seconds since the start of the run, ascending
  std::vector<ChartSeries> series;
};

struct Bar {
  std::string label;
  double value = 0;
};

std::string svgLineChart(const LineChart& chart);
std::string svgBarChart(std::string_view title, const std::vector<Bar>& bars,
                        std::string_view unit);

// Escapes & < > " ' for HTML text and attribute values.
std::string htmlEscape(std::string_view text);

}  // namespace loads::report
