// Parsing of the values users type, one syntax for every option of every tool:
// durations ("250ms", "90s", "5m", "1h30m"; a bare number is seconds), sizes ("64MiB",
// "2GiB", "512KiB"; a bare number is bytes) and cycles ("10:20:30"). Each throws
// std::invalid_argument with a sentence that names the bad value and the expected form.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loads {

std::chrono::milliseconds parseDuration(std::string_view text);
// Bytes: a number with B, KiB, MiB or GiB (powers of 1024), or a bare number of bytes.
std::uint64_t parseSize(std::string_view text);
// Positive integers separated by ':' ("10:20:30"); `what` names the option in errors.
// What each tool's command-line parser returns: the options, or the exit code when the
// program should end now (--help and --version: 0; a usage error: 2, after printing one
// sentence to stderr).
template <typename Options>
struct ParseResult {
  std::optional<Options> options;
  int exitCode = 0;
};

std::vector<std::uint64_t> parseCycles(std::string_view text, std::string_view what);

}  // namespace loads
