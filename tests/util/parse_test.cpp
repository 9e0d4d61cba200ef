#include "util/parse.hpp"

#include <catch2/catch.hpp>

using loads::parseCycles;
using loads::parseDuration;
using namespace std::chrono_literals;

TEST_CASE("durations take ms, s, m and h, alone or combined") {
  CHECK(parseDuration("250ms") == 250ms);
  CHECK(parseDuration("90s") == 90s);
  CHECK(parseDuration("5m") == 5min);
  CHECK(parseDuration("1h") == 1h);
  CHECK(parseDuration("1h30m") == 90min);
  CHECK(parseDuration("1m30s500ms") == 90500ms);
  CHECK(parseDuration("30") == 30s);  // a bare number is seconds
  CHECK(parseDuration("0s") == 0ms);
}

TEST_CASE("malformed durations are refused with a sentence showing the form") {
  for (const char* bad :
       {"", "s", "10x", "ten", "1h30", "-5s", "5 s", "1.5s", "99999999999999999999h"}) {
    INFO(bad);
    try {
      parseDuration(bad);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("is not a duration") != std::string::npos);
      CHECK(std::string(e.what()).find("90s") != std::string::npos);
    }
  }
}

TEST_CASE("cycles are positive numbers separated by colons") {
  CHECK(parseCycles("10", "-u") == std::vector<std::uint64_t>{10});
  CHECK(parseCycles("10:20:30", "-u") == std::vector<std::uint64_t>{10, 20, 30});
  for (const char* bad : {"", ":", "10:", ":10", "0", "10:0", "a", "1::2", "-1", "1.5", "10 20"}) {
    INFO(bad);
    try {
      parseCycles(bad, "--users");
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("--users '" + std::string(bad) + "' is not valid") !=
            std::string::npos);
    }
  }
}
