// The slave's share of a run and the agent's library cache.
#include "agent/slave_runner.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "agent/library_cache.hpp"

using namespace loads;

TEST_CASE("user ids are unique over the agents of a run") {
  // 10 users over 3 agents: 4, 3, 3 → ids 1-4, 5-7, 8-10.
  CHECK(agent::firstUserIdFor(10, 0, 3) == 1);
  CHECK(agent::firstUserIdFor(10, 1, 3) == 5);
  CHECK(agent::firstUserIdFor(10, 2, 3) == 8);
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
