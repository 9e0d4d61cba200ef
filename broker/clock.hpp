// The broker's notion of time, behind a seam so tests can drive it by hand.
#pragma once

#include <chrono>
#include <functional>

namespace loads::broker {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = std::chrono::milliseconds;
using NowFunction = std::function<TimePoint()>;  // the real one is Clock::now

}  // namespace loads::broker
