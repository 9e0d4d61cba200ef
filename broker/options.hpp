// loads-broker's command line, parsed into BrokerOptions. Durations and sizes use the one
// syntax of every loads tool (common/util/parse.hpp).
#pragma once

#include <optional>

#include "broker/broker.hpp"

namespace loads::broker {

// Returns the options, or an exit code when the program should end now (--help and
// --version: 0; a usage or key error: 2, after printing one sentence to stderr).
struct ParseResult {
  std::optional<BrokerOptions> options;
  int exitCode = 0;
};
ParseResult parseOptions(int argc, const char* const* argv);

}  // namespace loads::broker
