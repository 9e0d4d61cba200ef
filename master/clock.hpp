// The master's notion of time, behind a seam so tests can drive the follow loop by hand
// (the same pattern as broker/clock.hpp).
#pragma once

#include <chrono>
#include <functional>

namespace loads::master {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using NowFunction = std::function<TimePoint()>;  // the real one is Clock::now

}  // namespace loads::master
