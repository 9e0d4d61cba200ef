#include "run/schedule.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

#include "util/parse.hpp"

namespace loads {
namespace {

// Counts are compared with this slack so that 2000/s × 10 s is exactly 20,000 arrivals
// despite floating point.
constexpr double kEpsilon = 1e-6;

double seconds(Micros t) { return static_cast<double>(t.count()) / 1e6; }

}  // namespace

std::vector<Stage> parseStages(std::string_view text, std::string_view option) {
  auto bad = [&](const std::string& why) {
    throw std::invalid_argument(std::string(option) + " '" + std::string(text) +
                                "' is not valid: " + why +
                                "; use duration:target pairs, e.g. 30s:100,2m:100,30s:0");
  };
  std::vector<Stage> stages;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view part = text.substr(start, comma - start);
    const std::size_t colon = part.find(':');
    if (colon == std::string_view::npos) bad("'" + std::string(part) + "' has no ':'");
    Stage stage;
    try {
      stage.duration = parseDuration(part.substr(0, colon));
    } catch (const std::invalid_argument&) {
      bad("'" + std::string(part.substr(0, colon)) + "' is not a duration");
    }
    std::string_view value = part.substr(colon + 1);
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), stage.target);
    if (ec != std::errc() || end != value.data() + value.size() || stage.target < 0 ||
        !std::isfinite(stage.target)) {
      bad("'" + std::string(value) + "' is not a number >= 0");
    }
    stages.push_back(stage);
    start = comma + 1;
  }
  Micros total{0};
  for (const Stage& s : stages) total += s.duration;
  if (total.count() == 0) bad("the stages last 0s");
  return stages;
}

std::string formatStages(const std::vector<Stage>& stages) {
  std::string out;
  for (const Stage& s : stages) {
    if (!out.empty()) out += ",";
    char number[32];
    auto [end, ec] = std::to_chars(number, number + sizeof number, s.target);
    out += std::to_string(s.duration.count()) + "ms:" + std::string(number, end);
  }
  return out;
}

// ---------------------------------------------------------------- StageProfile

StageProfile::StageProfile(double start, std::vector<Stage> stages)
    : start_(start), stages_(std::move(stages)) {
  double begin = 0, area = 0, from = start_;
  for (const Stage& s : stages_) {
    const double length = static_cast<double>(s.duration.count()) / 1e3;
    segments_.push_back({begin, length, from, s.target, area});
    area += (from + s.target) / 2 * length;
    begin += length;
    from = s.target;
    length_ += s.duration;
  }
}

StageProfile StageProfile::constant(double value, std::chrono::milliseconds length) {
  return StageProfile(value, {Stage{length, value}});
}

double StageProfile::at(Micros t) const {
  if (segments_.empty()) return start_;
  const double x = seconds(t);
  if (x <= 0) return start_;
  for (const Segment& s : segments_) {
    if (x < s.beginS + s.lengthS) return s.from + (s.to - s.from) * (x - s.beginS) / s.lengthS;
  }
  return segments_.back().to;
}

double StageProfile::maxValue() const {
  double m = start_;
  for (const Stage& s : stages_) m = std::max(m, s.target);
  return m;
}

double StageProfile::integral(Micros t) const {
  const double x = std::min(seconds(t), seconds(length_));
  if (x <= 0) return 0;
  for (const Segment& s : segments_) {
    if (x <= s.beginS + s.lengthS) {
      const double dx = x - s.beginS;
      const double slope = s.lengthS > 0 ? (s.to - s.from) / s.lengthS : 0;
      return s.areaBefore + s.from * dx + slope * dx * dx / 2;
    }
  }
  return segments_.empty() ? 0 : segments_.back().areaBefore;  // not reached
}

std::optional<Micros> StageProfile::timeOfIntegral(double n) const {
  if (n <= kEpsilon) return Micros(0);
  for (const Segment& s : segments_) {
    const double area = (s.from + s.to) / 2 * s.lengthS;
    const double need = n - s.areaBefore;
    if (area <= 0 || need > area + kEpsilon) continue;
    // Solve from·dx + slope·dx²/2 = need for dx in [0, length].
    const double slope = (s.to - s.from) / s.lengthS;
    double dx;
    if (std::abs(slope) < 1e-12) {
      dx = need / s.from;
    } else {
      const double disc = std::max(0.0, s.from * s.from + 2 * slope * need);
      dx = (std::sqrt(disc) - s.from) / slope;
    }
    dx = std::clamp(dx, 0.0, s.lengthS);
    const auto t = Micros(static_cast<std::int64_t>(std::llround((s.beginS + dx) * 1e6)));
    if (t >= length_) return std::nullopt;
    return t;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- ArrivalSchedule

ArrivalSchedule::ArrivalSchedule(StageProfile rate, std::uint64_t index, std::uint64_t count)
    : rate_(std::move(rate)),
      index_(index),
      count_(std::max<std::uint64_t>(1, count)),
      nextGlobal_(index) {
  next_ = plannedAt(nextGlobal_);
}

std::optional<Micros> ArrivalSchedule::plannedAt(std::uint64_t global) const {
  if (global >= globalTotal()) return std::nullopt;
  return rate_.timeOfIntegral(static_cast<double>(global)).value_or(rate_.length());
}

void ArrivalSchedule::pop() {
  if (!next_) return;
  ++issued_;
  nextGlobal_ += count_;
  applyPending();
  next_ = plannedAt(nextGlobal_);
}

// Switches to the pending split once the old one has reached its first arrival.
void ArrivalSchedule::applyPending() {
  if (!pending_ || nextGlobal_ < pending_->from) return;
  index_ = pending_->index;
  count_ = pending_->count;
  nextGlobal_ = pending_->from + index_;
  pending_.reset();
}

void ArrivalSchedule::resplit(Micros from, std::uint64_t index, std::uint64_t count) {
  pending_ = Split{firstArrivalFrom(from), index, std::max<std::uint64_t>(1, count)};
  applyPending();
  next_ = plannedAt(nextGlobal_);
}

std::uint64_t ArrivalSchedule::firstArrivalFrom(Micros t) const {
  // Arrival k is planned at the earliest time the integral reaches k: at or after t
  // exactly when k >= integral(t), with slack for exact products.
  const double n = rate_.integral(t);
  return n <= kEpsilon ? 0 : static_cast<std::uint64_t>(std::ceil(n - kEpsilon));
}

std::uint64_t ArrivalSchedule::globalTotal() const {
  // Arrival k is planned iff k < integral(length): ceil, with slack for exact products.
  const double n = rate_.integral(rate_.length());
  return n <= kEpsilon ? 0 : static_cast<std::uint64_t>(std::ceil(n - kEpsilon));
}

std::uint64_t ArrivalSchedule::total() const {
  const std::uint64_t all = globalTotal();
  return all > index_ ? (all - index_ + count_ - 1) / count_ : 0;
}

// ---------------------------------------------------------------- UserTargetSchedule

namespace {
// The same split as proto::usersForAgent (common does not depend on proto).
std::uint32_t shareOf(std::uint32_t total, std::uint32_t index, std::uint32_t count) {
  if (count == 0) return 0;
  return total / count + (index < total % count ? 1 : 0);
}
}  // namespace

std::uint32_t UserTargetSchedule::globalAt(Micros t) const {
  return static_cast<std::uint32_t>(std::floor(users_.at(t) + kEpsilon));
}

std::uint32_t UserTargetSchedule::at(Micros t) const {
  if (resplit_ && t >= resplit_->from)
    return shareOf(globalAt(t), resplit_->index, resplit_->count);
  return shareOf(globalAt(t), index_, count_);
}

std::uint32_t UserTargetSchedule::max() const {
  const auto most = static_cast<std::uint32_t>(std::floor(users_.maxValue() + kEpsilon));
  const std::uint32_t before = shareOf(most, index_, count_);
  return resplit_ ? std::max(before, shareOf(most, resplit_->index, resplit_->count)) : before;
}

}  // namespace loads
