// The slave's share of a run and the agent's library cache.
#include "agent/slave_runner.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "agent/library_cache.hpp"

using namespace loads;

TEST_CASE("the users split over the agents of a run adds up to the run's users") {
  // 10 users over 3 agents: 4, 3, 3 (agent i has the run's users k = i, i + 3, ...).
  CHECK(proto::usersForAgent(10, 0, 3) == 4);
  CHECK(proto::usersForAgent(10, 1, 3) == 3);
  CHECK(proto::usersForAgent(10, 2, 3) == 3);
  std::uint32_t total = 0;
  for (std::uint32_t i = 0; i < 7; ++i) total += proto::usersForAgent(100, i, 7);
  CHECK(total == 100);
}

TEST_CASE("a test selection splits on commas") {
  CHECK(agent::splitTests("").empty());
  CHECK(agent::splitTests("A.b,C") == std::vector<std::string>{"A.b", "C"});
  CHECK(agent::splitTests("A,,B,") == std::vector<std::string>{"A", "B"});
}

TEST_CASE("the library cache keeps libraries by sha256 and refuses mismatched bytes") {
  const std::string dir =
      std::filesystem::temp_directory_path() / ("loads-cache-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  agent::LibraryCache cache(dir);
  const proto::Bytes bytes{'l', 'i', 'b'};
  const std::string sha = proto::sha256Hex(bytes);
  CHECK_FALSE(cache.find(sha));
  std::string error;
  CHECK_FALSE(cache.store(std::string(64, 'a'), bytes, error));
  CHECK_THAT(error, Catch::Contains("does not match"));
  auto path = cache.store(sha, bytes, error);
  REQUIRE(path);
  CHECK(cache.find(sha) == path);
  CHECK(cache.list() == std::vector<std::string>{sha});
  CHECK_FALSE(cache.find("../../etc/passwd"));
  std::filesystem::remove_all(dir);
}

using loads::agent::parseRebalance;
using loads::agent::rebalanceLine;

TEST_CASE("a REBALANCE with rows reaches the slave's control line and back whole") {
  proto::Rebalance rebalance;
  rebalance.count = 2;
  rebalance.fromMs = 1500;
  rebalance.rows = {{1, 0, 1, {{"rows.csv", 461}, {"a file, with \"odd\" bytes\n.csv", 7}}},
                    {0, 5, 6, {}}};
  proto::JobOptions job;
  job.users = 7;
  const auto resplit = parseRebalance(rebalanceLine(1, rebalance), job);
  REQUIRE(resplit);
  CHECK(resplit->index == 1);
  CHECK(resplit->count == 2);
  CHECK(resplit->from == std::chrono::milliseconds(1500));
  CHECK(resplit->users == 3);
  REQUIRE(resplit->rows.size() == 2);
  CHECK(resplit->rows[0] ==
        RowRun{1, 0, 1, {{"rows.csv", 461}, {"a file, with \"odd\" bytes\n.csv", 7}}});
  CHECK(resplit->rows[1] == RowRun{0, 5, 6, {}});
  // A line without rows (an older agent) and broken ones.
  CHECK(parseRebalance("rebalance 0 2 0", job)->rows.empty());
  CHECK_FALSE(parseRebalance("rebalance 0 2 0 rows 1 1 0 0 0", job));       // stride 0
  CHECK_FALSE(parseRebalance("rebalance 0 2 0 rows 2 1 0 1 0", job));       // a run missing
  CHECK_FALSE(parseRebalance("rebalance 0 2 0 rows 1 1 0 1 1 7g 3", job));  // not hex
}
