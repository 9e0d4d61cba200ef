// loads-agent's command line, parsed into AgentOptions. Durations and sizes use the one
// syntax of every loads tool (common/util/parse.hpp).
#pragma once

#include <optional>

#include "agent/agent.hpp"

namespace loads::agent {

// Returns the options, or an exit code when the program should end now (--help and
// --version: 0; a usage or key error: 2, after printing one sentence to stderr).
struct ParseResult {
  std::optional<AgentOptions> options;
  int exitCode = 0;
};
ParseResult parseOptions(int argc, const char* const* argv);

}  // namespace loads::agent
