// Parsing of the load-shape values users type: durations ("90s", "5m", "1h30m",
// "250ms") and cycles ("10:20:30"). Both throw std::invalid_argument with a sentence
// that names the bad value and the expected form.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loads {

std::chrono::milliseconds parseDuration(std::string_view text);
// Positive integers separated by ':' ("10:20:30"); `what` names the option in errors.
std::vector<std::uint64_t> parseCycles(std::string_view text, std::string_view what);

}  // namespace loads
