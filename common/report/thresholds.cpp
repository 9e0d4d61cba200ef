#include "report/thresholds.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "report/console_output.hpp"
#include "stats/aggregate_result.hpp"

namespace loads {
namespace {

enum class Kind { kTrend, kCounter, kRate };

struct MetricInfo {
  std::string_view name;
  ThresholdMetric metric;
  Kind kind;
  std::string_view tags;  // allowed tag keys, comma-separated
};

constexpr MetricInfo kMetrics[] = {
    {"http_req_duration", ThresholdMetric::kHttpReqDuration, Kind::kTrend, "name,method"},
    {"http_reqs", ThresholdMetric::kHttpReqs, Kind::kCounter, "name,method"},
    {"http_req_failed", ThresholdMetric::kHttpReqFailed, Kind::kRate, "name,method"},
    {"hit_duration", ThresholdMetric::kHitDuration, Kind::kTrend, "test"},
    {"hits", ThresholdMetric::kHits, Kind::kCounter, "test"},
    {"errors", ThresholdMetric::kErrors, Kind::kRate, "test"},
    {"checks", ThresholdMetric::kChecks, Kind::kRate, "test"},
    {"counter", ThresholdMetric::kCounter, Kind::kCounter, "name,test"},
    {"ws_sessions", ThresholdMetric::kWsSessions, Kind::kCounter, ""},
    {"ws_failed", ThresholdMetric::kWsFailed, Kind::kRate, ""},
    {"ws_msgs_sent", ThresholdMetric::kWsMsgsSent, Kind::kCounter, ""},
    {"ws_msgs_received", ThresholdMetric::kWsMsgsReceived, Kind::kCounter, ""},
    {"http_req_looking_up", ThresholdMetric::kHttpReqLookingUp, Kind::kTrend, "name,method"},
    {"http_req_connecting", ThresholdMetric::kHttpReqConnecting, Kind::kTrend, "name,method"},
    {"http_req_tls_handshaking", ThresholdMetric::kHttpReqTlsHandshaking, Kind::kTrend,
     "name,method"},
    {"http_req_sending", ThresholdMetric::kHttpReqSending, Kind::kTrend, "name,method"},
    {"http_req_waiting", ThresholdMetric::kHttpReqWaiting, Kind::kTrend, "name,method"},
    {"http_req_receiving", ThresholdMetric::kHttpReqReceiving, Kind::kTrend, "name,method"},
};

const MetricInfo& infoOf(ThresholdMetric m) {
  for (const auto& info : kMetrics) {
    if (info.metric == m) return info;
  }
  throw std::logic_error("unknown threshold metric");
}

std::string metricList() {
  std::string out;
  for (const auto& info : kMetrics) out += (out.empty() ? "" : ", ") + std::string(info.name);
  return out;
}

std::string_view aggregationsOf(Kind kind) {
  switch (kind) {
    case Kind::kTrend:
      return "avg, min, max, med or p(N)";
    case Kind::kCounter:
      return "count or rate (per second)";
    case Kind::kRate:
      return "rate (a fraction) or count";
  }
  return "";
}

// A cursor over the expression that builds error sentences quoting it.
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw std::invalid_argument("--threshold '" + std::string(text_) + "': " + what);
  }
  void skipSpaces() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool atEnd() {
    skipSpaces();
    return pos_ >= text_.size();
  }
  bool accept(std::string_view token) {
    skipSpaces();
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  char peek() {
    skipSpaces();
    return pos_ < text_.size() ? text_[pos_] : '\0';
  }
  // Letters, digits, '_', '.' and '-' (metric names, tag keys, aggregations).
  std::string_view word() {
    skipSpaces();
    std::size_t start = pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') break;
      ++pos_;
    }
    return text_.substr(start, pos_ - start);
  }
  // A tag value: "quoted" (with \" and \\), or everything up to ',' or '}' trimmed.
  std::string tagValue() {
    skipSpaces();
    std::string out;
    if (pos_ < text_.size() && text_[pos_] == '"') {
      for (++pos_; pos_ < text_.size() && text_[pos_] != '"'; ++pos_) {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
        out += text_[pos_];
      }
      if (pos_ >= text_.size()) fail("a quoted tag value is missing its closing '\"'");
      ++pos_;
      return out;
    }
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != '}') out += text_[pos_++];
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    return out;
  }
  // Everything up to `stop` (not consumed) or the end, trimmed.
  std::string until(char stop) {
    skipSpaces();
    std::size_t end = std::min(text_.find(stop, pos_), text_.size());
    std::string out(text_.substr(pos_, end - pos_));
    pos_ = end;
    while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
    return out;
  }
  // The rest of the expression, trimmed (the bound).
  std::string_view rest() {
    skipSpaces();
    std::string_view r = text_.substr(pos_);
    while (!r.empty() && std::isspace(static_cast<unsigned char>(r.back()))) r.remove_suffix(1);
    pos_ = text_.size();
    return r;
  }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

const MetricInfo& parseMetric(Parser& p) {
  std::string_view name = p.word();
  if (name.empty()) {
    p.fail("expected a metric name first (" + metricList() + ")");
  }
  for (const auto& info : kMetrics) {
    if (info.name == name) return info;
  }
  p.fail("unknown metric '" + std::string(name) + "'; the metrics are " + metricList());
}

void parseTags(Parser& p, const MetricInfo& info, Threshold& t) {
  if (!p.accept("{")) return;
  if (p.accept("}")) return;
  do {
    std::string key(p.word());
    if (key.empty() || !p.accept(":"))
      p.fail("expected tags as {key:value,...} after '" + std::string(info.name) + "'");
    std::string value = p.tagValue();
    bool allowed = false;
    for (std::size_t start = 0; start <= info.tags.size();) {
      std::size_t end = std::min(info.tags.find(',', start), info.tags.size());
      if (!info.tags.empty() && info.tags.substr(start, end - start) == key) allowed = true;
      start = end + 1;
    }
    if (!allowed) {
      p.fail("'" + std::string(info.name) + "' has no tag '" + key + "'" +
             (info.tags.empty() ? std::string("; it takes no tags")
                                : "; its tags are " + std::string(info.tags)));
    }
    if (value.empty()) p.fail("the tag '" + key + "' has an empty value");
    (key == "name" ? t.name : key == "method" ? t.method : t.test) = value;
  } while (p.accept(","));
  if (!p.accept("}")) p.fail("expected ',' or '}' to close the tags");
}

void parseAggregation(Parser& p, const MetricInfo& info, Threshold& t) {
  if (!p.accept(":")) {
    p.fail("expected ':' and an aggregation after the metric (" +
           std::string(aggregationsOf(info.kind)) + ")");
  }
  std::string_view word = p.word();
  std::string bad = "'" + std::string(word) + "' is not an aggregation of " +
                    std::string(info.name) + "; use " + std::string(aggregationsOf(info.kind));
  if (info.kind == Kind::kTrend) {
    if (word == "avg")
      t.aggregation = ThresholdAggregation::kAvg;
    else if (word == "min")
      t.aggregation = ThresholdAggregation::kMin;
    else if (word == "max")
      t.aggregation = ThresholdAggregation::kMax;
    else if (word == "med")
      t.aggregation = ThresholdAggregation::kMed;
    else if (word == "p" && p.accept("(")) {
      std::string number = p.until(')');
      char* end = nullptr;
      double q = std::strtod(number.c_str(), &end);
      if (number.empty() || *end != '\0' || !p.accept(")")) {
        p.fail("expected a percentile like p(99) or p(99.9)");
      }
      if (!(q > 0 && q <= 100))
        p.fail("p(" + number + "): the percentile must be above 0 and at most 100");
      t.aggregation = ThresholdAggregation::kPercentile;
      t.percentile = q;
    } else {
      p.fail(bad);
    }
  } else if (word == "count") {
    t.aggregation = ThresholdAggregation::kCount;
  } else if (word == "rate") {
    t.aggregation = ThresholdAggregation::kRate;
  } else {
    p.fail(bad);
  }
}

void parseComparison(Parser& p, Threshold& t) {
  using C = ThresholdComparison;
  if (p.accept("<="))
    t.comparison = C::kLessEqual;
  else if (p.accept(">="))
    t.comparison = C::kGreaterEqual;
  else if (p.accept("=="))
    t.comparison = C::kEqual;
  else if (p.accept("!="))
    t.comparison = C::kNotEqual;
  else if (p.accept("<"))
    t.comparison = C::kLess;
  else if (p.accept(">"))
    t.comparison = C::kGreater;
  else
    p.fail("expected a comparison (<, <=, >, >=, == or !=) after the aggregation");
}

// The bound in the threshold's unit: durations in µs (a bare number is ms, as in k6),
// fractions as 0.01 or 1%.
void parseBound(Parser& p, Threshold& t) {
  std::string text(p.rest());
  if (text.empty()) p.fail("expected a value after the comparison");
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit(end);
  if (end == text.c_str() || !std::isfinite(value)) p.fail("'" + text + "' is not a number");
  while (!unit.empty() && std::isspace(static_cast<unsigned char>(unit.front()))) unit.erase(0, 1);
  const ThresholdUnit kind = unitOf(t);
  if (kind == ThresholdUnit::kMicroseconds) {
    if (unit.empty() || unit == "ms")
      value *= 1e3;
    else if (unit == "s")
      value *= 1e6;
    else if (unit == "m")
      value *= 60e6;
    else if (unit != "us" && unit != "µs")
      p.fail("'" + unit + "' is not a duration unit; use us, ms, s or m");
  } else if (kind == ThresholdUnit::kFraction && unit == "%") {
    value /= 100;
  } else if (!unit.empty()) {
    std::string expected = kind == ThresholdUnit::kFraction    ? "a fraction like 0.01 or 1%"
                           : kind == ThresholdUnit::kPerSecond ? "a number per second like 100"
                                                               : "a count like 1000";
    p.fail("'" + text + "' has a unit, but this compares " + expected);
  }
  t.bound = value;
}

bool compare(double observed, ThresholdComparison c, double bound) {
  switch (c) {
    case ThresholdComparison::kLess:
      return observed < bound;
    case ThresholdComparison::kLessEqual:
      return observed <= bound;
    case ThresholdComparison::kGreater:
      return observed > bound;
    case ThresholdComparison::kGreaterEqual:
      return observed >= bound;
    case ThresholdComparison::kEqual:
      return observed == bound;
    case ThresholdComparison::kNotEqual:
      return observed != bound;
  }
  return false;
}

// "GET /api" matches {name:GET /api}, {name:/api} and {method:GET}.
bool requestMatches(const Threshold& t, const std::string& name) {
  std::size_t space = name.find(' ');
  std::string_view method =
      space == std::string::npos ? "" : std::string_view(name).substr(0, space);
  std::string_view path = space == std::string::npos ? std::string_view(name)
                                                     : std::string_view(name).substr(space + 1);
  if (!t.method.empty() && t.method != method) return false;
  return t.name.empty() || t.name == name || t.name == path;
}

// "Class.method" matches {test:Class.method} and {test:Class}.
bool testMatches(const Threshold& t, const std::string& name) {
  if (t.test.empty() || t.test == name) return true;
  return name.size() > t.test.size() && name.compare(0, t.test.size(), t.test) == 0 &&
         name[t.test.size()] == '.';
}

// What evaluation needs, summed over the matching requests or tests.
struct Selection {
  std::uint64_t count = 0;      // requests / test executions with an outcome
  std::uint64_t bad = 0;        // failed requests / failures + errors
  std::uint64_t good = 0;       // successful executions
  std::uint64_t completed = 0;  // stopTest calls
  std::int64_t counter = 0;
  std::optional<Histogram> latency;  // only merged when the aggregation needs it
};

bool needsHistogram(const Threshold& t) { return infoOf(t.metric).kind == Kind::kTrend; }

void addHistogram(Selection& s, const Histogram& h) {
  if (!s.latency) s.latency.emplace(h.highest(), h.significantDigits());
  s.latency->merge(h);
}

// The trend of a request metric: its latency, or one of its phases.
const Histogram& requestTrend(const Threshold& t, const RequestSummary& r) {
  const auto first = static_cast<int>(ThresholdMetric::kHttpReqLookingUp);
  const int phase = static_cast<int>(t.metric) - first;
  return phase >= 0 && phase < static_cast<int>(kPhaseCount) ? r.phases[phase] : r.latency;
}

Selection selectRequests(const Threshold& t, const Snapshot& snap) {
  Selection s;
  auto add = [&](const RequestSummary& r) {
    s.count += r.count;
    s.bad += r.failures;
    if (needsHistogram(t)) addHistogram(s, requestTrend(t, r));
  };
  if (t.name.empty() && t.method.empty()) {
    add(snap.allRequests);
  } else {
    for (const auto& [name, r] : snap.requests) {
      if (requestMatches(t, name)) add(r);
    }
  }
  return s;
}

Selection selectTests(const Threshold& t, const Snapshot& snap) {
  Selection s;
  for (const auto& [name, test] : snap.tests) {
    if (!testMatches(t, name)) continue;
    s.count += test.successes + test.failures + test.errors;
    s.bad += test.failures + test.errors;
    s.good += test.successes;
    s.completed += test.stopped;
    if (auto it = test.counters.find(t.name); it != test.counters.end()) s.counter += it->second;
    if (needsHistogram(t)) addHistogram(s, test.hitTime);
  }
  return s;
}

std::optional<double> trendValue(const Threshold& t, const std::optional<Histogram>& h) {
  if (!h || h->count() == 0) return std::nullopt;
  switch (t.aggregation) {
    case ThresholdAggregation::kAvg:
      return h->mean();
    case ThresholdAggregation::kMin:
      return static_cast<double>(h->min());
    case ThresholdAggregation::kMax:
      return static_cast<double>(h->max());
    case ThresholdAggregation::kMed:
      return static_cast<double>(h->percentile(50));
    case ThresholdAggregation::kPercentile:
      return static_cast<double>(h->percentile(t.percentile));
    default:
      return std::nullopt;
  }
}

std::optional<double> perSecond(double count, const Snapshot& snap) {
  double seconds = runSeconds(snap);
  if (!(seconds > 0)) return std::nullopt;
  return count / seconds;
}

std::optional<double> fraction(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return std::nullopt;
  return static_cast<double>(part) / static_cast<double>(whole);
}

// The observed value of a counter metric (count or per second).
std::optional<double> counterValue(const Threshold& t, double count, const Snapshot& snap) {
  if (t.aggregation == ThresholdAggregation::kCount) return count;
  return perSecond(count, snap);
}

// The observed value of a rate metric (a fraction, or the count of its "true" events).
std::optional<double> rateValue(const Threshold& t, std::uint64_t part, std::uint64_t whole) {
  if (t.aggregation == ThresholdAggregation::kCount) return static_cast<double>(part);
  return fraction(part, whole);
}

std::optional<double> observe(const Threshold& t, const Snapshot& snap) {
  using M = ThresholdMetric;
  const SocketSummary& ws = snap.sockets;
  switch (t.metric) {
    case M::kHttpReqDuration:
    case M::kHttpReqLookingUp:
    case M::kHttpReqConnecting:
    case M::kHttpReqTlsHandshaking:
    case M::kHttpReqSending:
    case M::kHttpReqWaiting:
    case M::kHttpReqReceiving:
      return trendValue(t, selectRequests(t, snap).latency);
    case M::kHttpReqs:
      return counterValue(t, static_cast<double>(selectRequests(t, snap).count), snap);
    case M::kHttpReqFailed: {
      Selection s = selectRequests(t, snap);
      return rateValue(t, s.bad, s.count);
    }
    case M::kHitDuration:
      return trendValue(t, selectTests(t, snap).latency);
    case M::kHits:
      return counterValue(t, static_cast<double>(selectTests(t, snap).completed), snap);
    case M::kErrors: {
      Selection s = selectTests(t, snap);
      return rateValue(t, s.bad, s.count);
    }
    case M::kChecks: {
      Selection s = selectTests(t, snap);
      return rateValue(t, s.good, s.count);
    }
    case M::kCounter: {
      double total = 0;
      if (t.test.empty()) {
        if (auto it = snap.counters.find(t.name); it != snap.counters.end())
          total = static_cast<double>(it->second);
      } else {
        total = static_cast<double>(selectTests(t, snap).counter);
      }
      return counterValue(t, total, snap);
    }
    case M::kWsSessions:
      return counterValue(t, static_cast<double>(ws.opened), snap);
    case M::kWsFailed:
      return rateValue(t, ws.failed, ws.closed);
    case M::kWsMsgsSent:
      return counterValue(t, static_cast<double>(ws.messagesSent), snap);
    case M::kWsMsgsReceived:
      return counterValue(t, static_cast<double>(ws.messagesReceived), snap);
  }
  return std::nullopt;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

// Direction in which a value can only move as the run goes on: +1 grows, -1 shrinks, 0
// either way.
int monotony(const Threshold& t) {
  using A = ThresholdAggregation;
  using M = ThresholdMetric;
  // Counters may be incremented by negative values, so their totals can shrink.
  if (t.aggregation == A::kCount) return t.metric == M::kCounter ? 0 : 1;
  if (infoOf(t.metric).kind != Kind::kTrend) return 0;
  if (t.aggregation == A::kMax) return 1;
  if (t.aggregation == A::kMin) return -1;
  return 0;
}

}  // namespace

Threshold parseThreshold(std::string_view text) {
  Parser p(text);
  if (p.atEnd()) {
    p.fail(
        "the expression is empty; write METRIC{TAG:VALUE}:AGGREGATION OP VALUE, e.g. "
        "http_req_duration:p(99)<250ms");
  }
  Threshold t;
  t.expression = std::string(text);
  const MetricInfo& info = parseMetric(p);
  t.metric = info.metric;
  parseTags(p, info, t);
  if (t.metric == ThresholdMetric::kCounter && t.name.empty()) {
    p.fail("counter needs the counter's name, e.g. counter{name:home-visits}:count>10");
  }
  parseAggregation(p, info, t);
  parseComparison(p, t);
  parseBound(p, t);
  return t;
}

ThresholdUnit unitOf(const Threshold& t) {
  switch (infoOf(t.metric).kind) {
    case Kind::kTrend:
      return ThresholdUnit::kMicroseconds;
    case Kind::kCounter:
      return t.aggregation == ThresholdAggregation::kRate ? ThresholdUnit::kPerSecond
                                                          : ThresholdUnit::kCount;
    case Kind::kRate:
      return t.aggregation == ThresholdAggregation::kRate ? ThresholdUnit::kFraction
                                                          : ThresholdUnit::kCount;
  }
  return ThresholdUnit::kCount;
}

ThresholdResult evaluateThreshold(const Threshold& t, const Snapshot& snap) {
  ThresholdResult r;
  r.expression = t.expression;
  r.unit = unitOf(t);
  r.observed = observe(t, snap);
  r.pass = r.observed && compare(*r.observed, t.comparison, t.bound);
  return r;
}

std::vector<ThresholdResult> evaluateThresholds(const std::vector<Threshold>& thresholds,
                                                const Snapshot& snap) {
  std::vector<ThresholdResult> out;
  out.reserve(thresholds.size());
  for (const auto& t : thresholds) out.push_back(evaluateThreshold(t, snap));
  return out;
}

bool canAbort(const Threshold& t) {
  using C = ThresholdComparison;
  switch (monotony(t)) {
    case 1:
      return t.comparison == C::kLess || t.comparison == C::kLessEqual || t.comparison == C::kEqual;
    case -1:
      return t.comparison == C::kGreater || t.comparison == C::kGreaterEqual ||
             t.comparison == C::kEqual;
    default:
      return false;
  }
}

bool cannotPass(const Threshold& t, const Snapshot& snap) {
  if (!canAbort(t)) return false;
  std::optional<double> v = observe(t, snap);
  if (!v) return false;
  // Equality fails for good once the value has moved past the bound in its direction.
  if (t.comparison == ThresholdComparison::kEqual)
    return monotony(t) > 0 ? *v > t.bound : *v < t.bound;
  return !compare(*v, t.comparison, t.bound);
}

std::string formatObserved(std::optional<double> value, ThresholdUnit unit) {
  if (!value) return "no data";
  switch (unit) {
    case ThresholdUnit::kMicroseconds:
      return formatMs(std::llround(*value)) + " ms";
    case ThresholdUnit::kCount:
      if (*value < 0) return "-" + formatCount(static_cast<std::uint64_t>(std::llround(-*value)));
      return formatCount(static_cast<std::uint64_t>(std::llround(*value)));
    case ThresholdUnit::kPerSecond:
      return fixed(*value, 1) + "/s";
    case ThresholdUnit::kFraction:
      return fixed(*value * 100, 2) + "%";
  }
  return "";
}

std::string_view unitName(ThresholdUnit unit) {
  switch (unit) {
    case ThresholdUnit::kMicroseconds:
      return "us";
    case ThresholdUnit::kCount:
      return "count";
    case ThresholdUnit::kPerSecond:
      return "per_second";
    case ThresholdUnit::kFraction:
      return "fraction";
  }
  return "count";
}

std::optional<ThresholdUnit> unitFromName(std::string_view name) {
  for (ThresholdUnit u : {ThresholdUnit::kMicroseconds, ThresholdUnit::kCount,
                          ThresholdUnit::kPerSecond, ThresholdUnit::kFraction}) {
    if (unitName(u) == name) return u;
  }
  return std::nullopt;
}

}  // namespace loads
