// TestMix (run/test_mix.hpp): which test user k runs, with and without weights.
#include "run/test_mix.hpp"

#include <catch2/catch.hpp>
#include <map>
#include <stdexcept>
#include <vector>

using loads::TestMix;

TEST_CASE("without weights user k runs test k mod T (user mix 1)") {
  for (std::size_t tests : {1u, 2u, 5u, 17u}) {
    TestMix mix(std::vector<std::uint32_t>(tests, 1));
    CHECK_FALSE(mix.weighted());
    for (std::uint64_t k = 0; k < 100; ++k) CHECK(mix.testOf(k) == k % tests);
  }
}

TEST_CASE("weights deal every W consecutive numbers exactly in their proportions, interleaved") {
  const std::vector<std::uint32_t> weights{9, 1, 250, 3};
  TestMix mix(weights);
  CHECK(mix.weighted());
  const std::uint64_t total = 263;
  // Any W consecutive numbers (wherever they start) hold each test its weight's times.
  for (std::uint64_t from : {0ull, 7ull, 1'000'003ull}) {
    std::map<std::size_t, std::uint32_t> seen;
    for (std::uint64_t k = from; k < from + total; ++k) ++seen[mix.testOf(k)];
    for (std::size_t t = 0; t < weights.size(); ++t) CHECK(seen[t] == weights[t]);
  }
  // Smooth: 9:1 puts the light test mid-cycle, not at one end.
  TestMix nineToOne({9, 1});
  std::vector<std::size_t> slots;
  for (std::uint64_t k = 0; k < 10; ++k) slots.push_back(nineToOne.testOf(k));
  CHECK(slots == std::vector<std::size_t>{0, 0, 0, 0, 0, 1, 0, 0, 0, 0});
}

TEST_CASE("a weight of 0 or weights beyond a million slots are refused") {
  CHECK_THROWS_AS(TestMix({1, 0}), std::invalid_argument);
  CHECK_THROWS_WITH(TestMix({600'000, 600'000}), Catch::Contains("sum to 1200000"));
}
