#include "util/parse.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace loads {
namespace {

[[noreturn]] void badDuration(std::string_view text) {
  throw std::invalid_argument("'" + std::string(text) +
                              "' is not a duration: use a number with a unit, e.g. 250ms, 90s, "
                              "5m, 1h or 1h30m");
}

}  // namespace

std::chrono::milliseconds parseDuration(std::string_view text) {
  if (text.empty()) badDuration(text);
  std::int64_t totalMs = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), value);
    if (ec != std::errc() || end == text.data() + i) badDuration(text);
    i = end - text.data();
    std::size_t unitStart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    std::int64_t scale;
    if (unit == "ms")
      scale = 1;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "m")
      scale = 60'000;
    else if (unit == "h")
      scale = 3'600'000;
    else if (unit.empty() && unitStart == text.size() && totalMs == 0)
      scale = 1000;  // "30" = 30s
    else
      badDuration(text);
    if (value > static_cast<std::uint64_t>(INT64_MAX / scale) - totalMs / scale) badDuration(text);
    totalMs += static_cast<std::int64_t>(value) * scale;
  }
  return std::chrono::milliseconds(totalMs);
}

std::uint64_t parseSize(std::string_view text) {
  auto bad = [&]() -> std::uint64_t {
    throw std::invalid_argument("'" + std::string(text) +
                                "' is not a size: use a number of bytes or a number with a unit, "
                                "e.g. 65536, 512KiB, 64MiB or 2GiB");
  };
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return bad();
  const std::string_view unit = text.substr(end - text.data());
  int shift;
  if (unit.empty() || unit == "B")
    shift = 0;
  else if (unit == "KiB")
    shift = 10;
  else if (unit == "MiB")
    shift = 20;
  else if (unit == "GiB")
    shift = 30;
  else
    return bad();
  if (value > (UINT64_MAX >> shift)) return bad();
  return value << shift;
}

std::vector<std::uint64_t> parseCycles(std::string_view text, std::string_view what) {
  std::vector<std::uint64_t> cycles;
  auto bad = [&] {
    throw std::invalid_argument(std::string(what) + " '" + std::string(text) +
                                "' is not valid: use a positive number, or several separated "
                                "by ':' to run cycles, e.g. 10:20:30");
  };
  std::size_t start = 0;
  while (true) {
    std::size_t colon = text.find(':', start);
    std::string_view part =
        text.substr(start, colon == std::string_view::npos ? colon : colon - start);
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value == 0) bad();
    cycles.push_back(value);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return cycles;
}

}  // namespace loads
