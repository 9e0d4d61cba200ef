#include "report/svg_chart.hpp"

#include <algorithm>
#include <cmath>

#include "report/report_json.hpp"

namespace loads::report {
namespace {

// Plot geometry in viewBox units.
constexpr double kWidth = 640, kHeight = 220;
constexpr double kLeft = 58, kRight = 22, kTop = 10, kBottom = 26;
constexpr int kYTicks = 4;

// The smallest 1, 2, 2.5 or 5 × 10^k at or above v (the y-axis top).
double niceCeiling(double v) {
  if (!(v > 0)) return 1;
  double magnitude = std::pow(10.0, std::floor(std::log10(v)));
  for (double step : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (step * magnitude >= v * (1 - 1e-9)) return step * magnitude;
  }
  return 10 * magnitude;
}

std::string axisNumber(double v) {
  if (v == 0) return "0";
  if (std::fabs(v) >= 100000) return fixed(v / 1000, 0) + "k";
  if (std::fabs(v) >= 10 || v == std::floor(v)) return fixed(v, 0);
  return fixed(v, std::fabs(v) >= 1 ? 1 : 2);
}

std::string clock(double seconds) {
  long s = std::lround(seconds);
  std::string out = std::to_string(s / 60) + ":";
  if (s % 60 < 10) out += "0";
  return out + std::to_string(s % 60);
}

std::string coord(double v) { return fixed(v, 1); }

// Gridlines and y labels; returns the y-axis maximum.
void yAxis(std::string& svg, double top, const std::string& unit) {
  const double plotHeight = kHeight - kTop - kBottom;
  for (int i = 0; i <= kYTicks; ++i) {
    double y = kTop + plotHeight * (1 - static_cast<double>(i) / kYTicks);
    svg += "<line class=\"grid\" x1=\"" + coord(kLeft) + "\" y1=\"" + coord(y) + "\" x2=\"" +
           coord(kWidth - kRight) + "\" y2=\"" + coord(y) + "\"/>";
    svg += "<text class=\"ylab\" x=\"" + coord(kLeft - 6) + "\" y=\"" + coord(y + 4) + "\">" +
           htmlEscape(axisNumber(top * i / kYTicks) +
                      (i == kYTicks && !unit.empty() ? " " + unit : "")) +
           "</text>";
  }
}

void xAxis(std::string& svg, double span) {
  const double plotWidth = kWidth - kLeft - kRight;
  for (int i = 0; i <= 4; ++i) {
    double x = kLeft + plotWidth * i / 4;
    svg += "<text class=\"xlab\" x=\"" + coord(x) + "\" y=\"" + coord(kHeight - 8) + "\">" +
           clock(span * i / 4) + "</text>";
  }
}

std::string legend(const std::vector<ChartSeries>& series) {
  std::string out = "<figcaption>";
  for (const auto& s : series) {
    out += "<span class=\"key\"><i style=\"background:" + htmlEscape(s.color) + "\"></i>" +
           htmlEscape(s.name) + "</span>";
  }
  return out + "</figcaption>";
}

}  // namespace

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
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
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string svgLineChart(const LineChart& chart) {
  double maxValue = 0;
  for (const auto& s : chart.series) {
    for (const auto& v : s.values) {
      if (v && std::isfinite(*v)) maxValue = std::max(maxValue, *v);
    }
  }
  const double top = niceCeiling(maxValue);
  const double span = chart.x.empty() ? 0 : chart.x.back() - chart.x.front();
  const double plotWidth = kWidth - kLeft - kRight, plotHeight = kHeight - kTop - kBottom;

  std::string svg = "<figure class=\"chart\"><h3>" + htmlEscape(chart.title) + "</h3>";
  svg += "<svg viewBox=\"0 0 " + coord(kWidth) + " " + coord(kHeight) +
         "\" role=\"img\" aria-label=\"" + htmlEscape(chart.title) + "\">";
  yAxis(svg, top, chart.unit);
  xAxis(svg, span);
  for (const auto& s : chart.series) {
    std::string path;
    bool penDown = false;
    for (std::size_t i = 0; i < s.values.size() && i < chart.x.size(); ++i) {
      const auto& v = s.values[i];
      if (!v || !std::isfinite(*v)) {
        penDown = false;
        continue;
      }
      double x = kLeft + (span > 0 ? (chart.x[i] - chart.x.front()) / span : 0.5) * plotWidth;
      double y = kTop + plotHeight * (1 - *v / top);
      path += (penDown ? "L" : "M") + coord(x) + " " + coord(y);
      penDown = true;
    }
    if (!path.empty()) {
      svg += "<path d=\"" + path + "\" stroke=\"" + htmlEscape(s.color) + "\"><title>" +
             htmlEscape(s.name) + "</title></path>";
    }
  }
  svg += "</svg>" + legend(chart.series) + "</figure>\n";
  return svg;
}

std::string svgBarChart(std::string_view title, const std::vector<Bar>& bars,
                        std::string_view unit) {
  constexpr double kRow = 22, kLabel = 120, kValue = 90;
  double maxValue = 0;
  for (const auto& b : bars) maxValue = std::max(maxValue, b.value);
  const double height = kRow * static_cast<double>(bars.size()) + 4;
  const double barSpace = kWidth - kLabel - kValue;
  std::string svg = "<figure class=\"chart\"><h3>" + htmlEscape(title) + "</h3>";
  svg += "<svg viewBox=\"0 0 " + coord(kWidth) + " " + coord(height) +
         "\" role=\"img\" aria-label=\"" + htmlEscape(title) + "\">";
  for (std::size_t i = 0; i < bars.size(); ++i) {
    const double y = 2 + kRow * static_cast<double>(i);
    const double w = maxValue > 0 ? barSpace * bars[i].value / maxValue : 0;
    svg += "<text class=\"blab\" x=\"" + coord(kLabel - 6) + "\" y=\"" + coord(y + 15) + "\">" +
           htmlEscape(bars[i].label) + "</text>";
    svg += "<rect x=\"" + coord(kLabel) + "\" y=\"" + coord(y + 3) + "\" width=\"" + coord(w) +
           "\" height=\"" + coord(kRow - 6) + "\"/>";
    svg += "<text class=\"bval\" x=\"" + coord(kLabel + w + 6) + "\" y=\"" + coord(y + 15) + "\">" +
           htmlEscape(fixed(bars[i].value, 1) + " " + std::string(unit)) + "</text>";
  }
  return svg + "</svg></figure>\n";
}

}  // namespace loads::report
