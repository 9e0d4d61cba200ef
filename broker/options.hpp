// loads-broker's command line, parsed into BrokerOptions. Durations and sizes use the one
// syntax of every loads tool (common/util/parse.hpp).
#pragma once

#include <optional>

#include "broker/broker.hpp"
#include "util/parse.hpp"

namespace loads::broker {

using ParseResult = loads::ParseResult<BrokerOptions>;
ParseResult parseOptions(int argc, const char* const* argv);

}  // namespace loads::broker
