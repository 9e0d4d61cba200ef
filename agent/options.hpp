// loads-agent's command line, parsed into AgentOptions. Durations and sizes use the one
// syntax of every loads tool (common/util/parse.hpp).
#pragma once

#include <optional>

#include "agent/agent.hpp"
#include "util/parse.hpp"

namespace loads::agent {

using ParseResult = loads::ParseResult<AgentOptions>;
ParseResult parseOptions(int argc, const char* const* argv);

}  // namespace loads::agent
