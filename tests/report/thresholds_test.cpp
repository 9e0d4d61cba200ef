// Thresholds: parsing (good and bad syntax, the messages users see) and evaluation over
// a hand-built snapshot whose every figure is known.
#include "report/thresholds.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "report/json_output.hpp"
#include "stats/aggregate_result.hpp"

using namespace loads;
using Catch::Matchers::Contains;

namespace {

std::string parseError(const std::string& text) {
  try {
    parseThreshold(text);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  FAIL("'" << text << "' parsed, but should not");
  return "";
}

// 10 s run. GET /api: 100 requests of 1..100 ms, 2 failed; POST /api: 10 of 500 ms;
// GET /: 50 of 5 ms. Shop.browse: 90 successes, 6 failures, 4 errors; Shop.buy: 10
// successes. Counters: carts 40 (Shop.browse 30, Shop.buy 10), refunds -3.
Snapshot knownRun() {
  Snapshot s;
  s.runStartedUs = 1'000'000;
  s.runStoppedUs = 11'000'000;
  auto add = [&](const std::string& name, std::int64_t us, bool failed) {
    RequestSummary& r = s.requests[name];
    for (RequestSummary* x : {&r, &s.allRequests}) {
      x->count++;
      x->failures += failed;
      x->latency.record(us);
    }
  };
  for (int i = 1; i <= 100; ++i) add("GET /api", i * 1000, i > 98);
  for (int i = 0; i < 10; ++i) add("POST /api", 500'000, false);
  for (int i = 0; i < 50; ++i) add("GET /", 5000, false);
  TestSummary& browse = s.tests["Shop.browse"];
  browse.started = browse.stopped = 100;
  browse.successes = 90;
  browse.failures = 6;
  browse.errors = 4;
  browse.counters["carts"] = 30;
  for (int i = 0; i < 100; ++i) browse.hitTime.record(20'000);
  TestSummary& buy = s.tests["Shop.buy"];
  buy.started = buy.stopped = 10;
  buy.successes = 10;
  buy.counters["carts"] = 10;
  for (int i = 0; i < 10; ++i) buy.hitTime.record(40'000);
  s.counters["carts"] = 40;
  s.counters["refunds"] = -3;
  s.sockets.opened = 4;
  s.sockets.closed = 4;
  s.sockets.failed = 1;
  return s;
}

double observed(const std::string& text, const Snapshot& snap = knownRun()) {
  ThresholdResult r = evaluateThreshold(parseThreshold(text), snap);
  REQUIRE(r.observed);
  return *r.observed;
}

bool passes(const std::string& text) {
  return evaluateThreshold(parseThreshold(text), knownRun()).pass;
}

}  // namespace

TEST_CASE("k6-style expressions parse into metric, tags, aggregation, comparison and bound") {
  Threshold t = parseThreshold("http_req_duration{name:/api}:p(99)<250ms");
  CHECK(t.metric == ThresholdMetric::kHttpReqDuration);
  CHECK(t.name == "/api");
  CHECK(t.aggregation == ThresholdAggregation::kPercentile);
  CHECK(t.percentile == 99);
  CHECK(t.comparison == ThresholdComparison::kLess);
  CHECK(t.bound == 250'000);  // µs
  CHECK(t.expression == "http_req_duration{name:/api}:p(99)<250ms");

  CHECK(parseThreshold("http_req_duration:avg<100").bound == 100'000);  // bare number: ms
  CHECK(parseThreshold("http_req_duration:p(99.9) <= 1.5s").bound == 1'500'000);
  CHECK(parseThreshold("http_req_duration:max<250us").bound == 250);
  CHECK(parseThreshold("http_req_duration:med<2m").bound == 120'000'000);
  CHECK(parseThreshold("errors:rate<1%").bound == Approx(0.01));
  CHECK(parseThreshold("errors:rate<0.01").comparison == ThresholdComparison::kLess);
  CHECK(parseThreshold("hits:count>=1000").comparison == ThresholdComparison::kGreaterEqual);
  CHECK(parseThreshold("http_reqs:rate>100").aggregation == ThresholdAggregation::kRate);
  CHECK(parseThreshold("checks{test:Shop}:rate==1").test == "Shop");
  CHECK(parseThreshold("ws_failed:count!=3").comparison == ThresholdComparison::kNotEqual);
  Threshold c =
      parseThreshold(" counter { name : home-visits , test:Blog.test_home } : count > 10 ");
  CHECK(c.metric == ThresholdMetric::kCounter);
  CHECK(c.name == "home-visits");
  CHECK(c.test == "Blog.test_home");
  CHECK(c.bound == 10);
  CHECK(parseThreshold("http_reqs{name:\"GET /a,b}\"}:count>1").name == "GET /a,b}");
  CHECK(parseThreshold("http_reqs{method:POST,name:/api}:count>1").method == "POST");
}

TEST_CASE("bad expressions are rejected with one sentence naming the bad part") {
  CHECK_THAT(parseError(""), Contains("the expression is empty"));
  CHECK_THAT(parseError("htp_req_duration:avg<1"),
             Contains("'htp_req_duration:avg<1'") &&
                 Contains("unknown metric 'htp_req_duration'") && Contains("http_req_duration"));
  CHECK_THAT(parseError("http_req_duration<250"), Contains("expected ':' and an aggregation"));
  CHECK_THAT(parseError("http_req_duration:p99<250"),
             Contains("'p99' is not an aggregation of http_req_duration") && Contains("p(N)"));
  CHECK_THAT(parseError("http_req_duration:p(101)<250"),
             Contains("p(101): the percentile must be"));
  CHECK_THAT(parseError("http_req_duration:p(x)<250"),
             Contains("expected a percentile like p(99)"));
  CHECK_THAT(parseError("http_req_duration:avg 250"), Contains("expected a comparison"));
  CHECK_THAT(parseError("http_req_duration:avg<"),
             Contains("expected a value after the comparison"));
  CHECK_THAT(parseError("http_req_duration:avg<fast"), Contains("'fast' is not a number"));
  CHECK_THAT(parseError("http_req_duration:avg<250h"), Contains("'h' is not a duration unit"));
  CHECK_THAT(parseError("errors:rate<5ms"), Contains("'5ms' has a unit") && Contains("fraction"));
  CHECK_THAT(parseError("errors:avg<1"), Contains("'avg' is not an aggregation of errors"));
  CHECK_THAT(parseError("hits:count>10x"), Contains("a count like 1000"));
  CHECK_THAT(parseError("http_reqs{test:A}:count>1"),
             Contains("'http_reqs' has no tag 'test'") && Contains("name,method"));
  CHECK_THAT(parseError("ws_sessions{name:x}:count>1"), Contains("it takes no tags"));
  CHECK_THAT(parseError("http_reqs{name:/a:count>1"), Contains("expected ',' or '}'"));
  CHECK_THAT(parseError("http_reqs{name:}:count>1"), Contains("the tag 'name' has an empty value"));
  CHECK_THAT(parseError("counter:count>1"), Contains("counter needs the counter's name"));
}

TEST_CASE("request thresholds merge the matching request names' histograms") {
  CHECK(observed("http_req_duration{name:GET /api}:max<1s") == Approx(100'000).epsilon(0.001));
  CHECK(observed("http_req_duration{name:GET /api}:p(50)<1s") == Approx(50'000).epsilon(0.001));
  // {name:/api} is the path of GET /api and POST /api: 110 requests.
  CHECK(observed("http_reqs{name:/api}:count>0") == 110);
  CHECK(observed("http_req_duration{name:/api}:p(95)<1s") == Approx(500'000).epsilon(0.001));
  CHECK(observed("http_reqs{method:GET}:count>0") == 150);
  CHECK(observed("http_reqs:count>0") == 160);
  CHECK(observed("http_reqs:rate>0") == Approx(16.0));  // 160 in 10 s
  CHECK(observed("http_req_failed:rate<1") == Approx(2.0 / 160));
  CHECK(observed("http_req_failed{name:GET /api}:count<5") == 2);
  CHECK(observed("http_req_duration{name:GET /}:avg<1s") == Approx(5000).epsilon(0.001));
  CHECK(passes("http_req_duration{name:GET /}:avg<6ms"));
  CHECK_FALSE(passes("http_req_duration{name:GET /}:avg<4ms"));
}

TEST_CASE("test thresholds count outcomes, counters and hit times per test or class") {
  CHECK(observed("hits:count>0") == 110);
  CHECK(observed("hits{test:Shop.buy}:count>0") == 10);
  CHECK(observed("errors:count>0") == 10);  // 6 failures + 4 errors
  CHECK(observed("errors:rate<1") == Approx(10.0 / 110));
  CHECK(observed("errors{test:Shop.browse}:rate<1") == Approx(0.1));
  CHECK(observed("checks:rate>0") == Approx(100.0 / 110));
  CHECK(observed("checks{test:Shop}:count>0") == 100);  // class matches its methods
  CHECK(observed("counter{name:carts}:count>0") == 40);
  CHECK(observed("counter{name:carts,test:Shop.buy}:count>0") == 10);
  CHECK(observed("counter{name:carts}:rate>0") == Approx(4.0));
  CHECK(observed("counter{name:refunds}:count<0") == -3);
  CHECK(observed("hit_duration{test:Shop.buy}:p(99)<1s") == Approx(40'000).epsilon(0.001));
  CHECK(observed("ws_failed:rate<1") == Approx(0.25));
  CHECK(observed("ws_sessions:count>0") == 4);
  CHECK(passes("errors:rate<0.1"));
  CHECK_FALSE(passes("errors:rate<0.05"));
  CHECK(passes("hits:count==110"));
  CHECK(passes("hits:count!=111"));
}

TEST_CASE("no data fails a threshold, except a count, which is 0") {
  ThresholdResult r =
      evaluateThreshold(parseThreshold("http_req_duration{name:/typo}:p(99)<1s"), knownRun());
  CHECK_FALSE(r.observed);
  CHECK_FALSE(r.pass);
  CHECK(formatObserved(r.observed, r.unit) == "no data");
  CHECK_FALSE(passes("errors{test:Nope}:rate<1"));
  CHECK(passes("http_reqs{name:/typo}:count==0"));
  CHECK(passes("counter{name:never}:count<1"));
}

TEST_CASE("only thresholds that cannot recover abort a run") {
  Snapshot snap = knownRun();
  CHECK(canAbort(parseThreshold("http_reqs:count<100")));
  CHECK(cannotPass(parseThreshold("http_reqs:count<100"), snap));  // 160 already
  CHECK_FALSE(cannotPass(parseThreshold("http_reqs:count<200"), snap));
  CHECK(cannotPass(parseThreshold("errors:count==5"), snap));  // 10, only grows
  CHECK_FALSE(cannotPass(parseThreshold("errors:count==15"), snap));
  CHECK(cannotPass(parseThreshold("http_req_duration:max<=100ms"), snap));  // 500 ms seen
  CHECK(cannotPass(parseThreshold("http_req_duration:min>2ms"), snap));     // 1 ms seen
  CHECK_FALSE(canAbort(parseThreshold("hits:count>1000000")));              // more hits may come
  CHECK_FALSE(canAbort(parseThreshold("errors:rate<0.01")));                // rates recover
  CHECK_FALSE(canAbort(parseThreshold("http_req_duration:p(99)<1ms")));
  CHECK_FALSE(canAbort(parseThreshold("counter{name:carts}:count<1")));  // may decrease
  CHECK_FALSE(cannotPass(parseThreshold("errors:rate<0.01"), snap));
}

TEST_CASE("results go to JSON with their observed value and unit") {
  auto results = evaluateThresholds(
      {parseThreshold("http_req_duration:max<1s"), parseThreshold("errors:rate<0.01"),
       parseThreshold("http_req_duration{name:/x}:avg<1")},
      knownRun());
  results[1].abortedRun = true;
  RunFacts facts;
  facts.thresholds = results;
  auto j = jsonReport(knownRun(), facts)["thresholds"];
  REQUIRE(j.size() == 3);
  CHECK(j[0]["expression"] == "http_req_duration:max<1s");
  CHECK(j[0]["pass"] == true);
  CHECK(j[0]["unit"] == "us");
  CHECK(j[1]["pass"] == false);
  CHECK(j[1]["unit"] == "fraction");
  CHECK(j[1]["abortedRun"] == true);
  CHECK(j[2]["observed"].is_null());
  CHECK(formatObserved(0.0532, ThresholdUnit::kFraction) == "5.32%");
  CHECK(formatObserved(12.34, ThresholdUnit::kPerSecond) == "12.3/s");
  CHECK(formatObserved(1234, ThresholdUnit::kCount) == "1,234");
  CHECK(formatObserved(-3, ThresholdUnit::kCount) == "-3");
}
