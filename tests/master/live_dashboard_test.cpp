// The live dashboard's state: what every page receives and its script renders.
#include "master/live_dashboard.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "master/web_dashboard.hpp"
#include "stats/aggregate_result.hpp"
#include "util/metrics_server.hpp"
#include "util/openmetrics.hpp"

using namespace loads;
using namespace loads::master;

// Issue #11: past --max-names the page shows the same sentence as the reports.
TEST_CASE("the dashboard state carries the overflow sentence") {
  AggregateOptions options;
  options.maxNames = 1;
  AggregateResult result(options);
  LoadsStatus status;
  status.users = 1;
  for (const std::string name : {"GET /a/1", "GET /a/2", "GET /a/3"}) {
    Hit hit;
    hit.name = name;
    hit.status = 200;
    hit.startedUs = 1'700'000'000'000'000;
    hit.elapsedUs = 100;
    result.addHit(hit, status);
  }
  auto dashboard = LiveDashboard::start(
      WebAddress{}, "local", result, [] { return DashboardClock{}; }, [] {});
  REQUIRE(dashboard);
  const Snapshot snap = result.snapshot();
  const auto state = nlohmann::json::parse(dashboard->state(snap, false));
  REQUIRE(state.at("overflows").size() == 1);
  CHECK(state["overflows"][0] == overflowSentence(snap.overflows.at(0)));
  CHECK(state["overflows"][0].get<std::string>().find("\"GET /a/2\", \"GET /a/3\"") !=
        std::string::npos);
}

namespace {

// GET `target` on 127.0.0.1:port with a Host the dashboard accepts: {status, content type, body}.
struct Got {
  int status = 0;
  std::string type, body;
};
Got get(unsigned short port, const std::string& target) {
  namespace beast = boost::beast;
  namespace http = beast::http;
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.expires_after(std::chrono::seconds(10));
  stream.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

unsigned short portOf(const std::string& url) {
  return static_cast<unsigned short>(std::stoi(url.substr(url.rfind(':') + 1)));
}

}  // namespace

TEST_CASE("the --web port serves /metrics, and --metrics alone serves only /metrics") {
  int calls = 0;
  auto text = [&calls] {
    ++calls;
    return std::string("# TYPE loads_run_finished gauge\nloads_run_finished 0\n# EOF\n");
  };
  DashboardOptions options;
  options.metrics = text;
  WebDashboard web(
      options, [] { return std::string("{}"); }, [] {});
  const Got metrics = get(portOf(web.url().substr(0, web.url().size() - 1)), "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.type.starts_with("application/openmetrics-text"));
  CHECK(metrics.body.ends_with("# EOF\n"));

  MetricsServer alone(ListenAddress{}, kOpenMetricsContentType, text);
  const unsigned short port = portOf(alone.url().substr(0, alone.url().size() - 8));
  CHECK(get(port, "/metrics").body == metrics.body);
  CHECK(get(port, "/").status == 404);
  CHECK(get(port, "/metrics?x=1").status == 200);
  CHECK(calls == 3);
  // Without a metrics function the dashboard has no /metrics.
  WebDashboard bare(
      DashboardOptions{}, [] { return std::string("{}"); }, [] {});
  CHECK(get(portOf(bare.url().substr(0, bare.url().size() - 1)), "/metrics").status == 404);
}
