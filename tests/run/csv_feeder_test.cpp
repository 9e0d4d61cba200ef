// CSV parsing and CsvFeeder (loads/data.hpp) over the run data a Runner installs
// (run/run_data.hpp): the three modes, shares of a distributed run, re-splits, running out.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "loads/data.hpp"
#include "loads/test_case.hpp"
#include "run/run_data.hpp"

using namespace loads;
namespace fs = std::filesystem;

namespace {

// A CSV file of `rows` rows (ids 0..rows-1) installed as the run's "rows.csv".
struct RowsFile {
  std::string path =
      (fs::temp_directory_path() / ("loads-rows-" + std::to_string(::getpid()) + ".csv")).string();
  explicit RowsFile(int rows) {
    std::ofstream out(path, std::ios::binary);
    out << "id,name\n";
    for (int i = 0; i < rows; ++i) out << i << ",user " << i << "\n";
  }
  ~RowsFile() { fs::remove(path); }
  void install(std::uint32_t index, std::uint32_t count, std::function<void()> stop = {}) const {
    detail::installRunData({{{"rows.csv", path}}, {}, index, count, std::move(stop)});
  }
};

// Every row the feeder gives to `threads` threads at once, until it runs out.
std::vector<std::uint64_t> drain(CsvFeeder& feeder, int threads) {
  std::mutex mutex;
  std::vector<std::uint64_t> taken;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      try {
        for (;;) {
          const CsvRow row = feeder.next();
          CHECK(row["id"] == std::to_string(row.number()));
          std::lock_guard lock(mutex);
          taken.push_back(row.number());
        }
      } catch (const SkipTest&) {
      }
    });
  }
  for (auto& t : pool) t.join();
  return taken;
}

}  // namespace

TEST_CASE("CSV: quotes, doubled quotes, line breaks in fields, CRLF, a BOM and UTF-8") {
  const auto rows = parseCsv(
      "\xEF\xBB\xBFid,name,note\r\n1,\"Müller, Jörg\",\"said "
      "\"\"hi\"\"\"\r\n2,plain,\"two\nlines\"\n\n"
      "3,,\"\"",
      "t.csv");
  REQUIRE(rows.size() == 4);
  CHECK(rows[0] == std::vector<std::string>{"id", "name", "note"});
  CHECK(rows[1] == std::vector<std::string>{"1", "Müller, Jörg", "said \"hi\""});
  CHECK(rows[2] == std::vector<std::string>{"2", "plain", "two\nlines"});
  CHECK(rows[3] == std::vector<std::string>{"3", "", ""});
}

TEST_CASE("CSV: a malformed file is one sentence with its line") {
  CHECK_THROWS_WITH(parseCsv("a,b\n1,2\n\n3\n", "t.csv"),
                    "t.csv line 4: 1 fields, the header has 2");
  CHECK_THROWS_WITH(parseCsv("a,b\n1,\"2\n", "t.csv"), Catch::Contains("not closed"));
  CHECK_THROWS_WITH(parseCsv("a,b\n1,x\"y\"\n", "t.csv"),
                    Catch::Contains("t.csv line 2: a quote inside an unquoted field"));
  CHECK_THROWS_WITH(parseCsv("", "t.csv"), Catch::Contains("t.csv is empty"));
}

TEST_CASE("unique rows: shares of a run, each with 4 threads, use every row exactly once") {
  RowsFile file(1000);
  for (std::uint64_t users : {1u, 7u, 30u}) {
    for (std::uint32_t count : {1u, 3u, 7u}) {
      if (count > users) continue;
      std::multiset<std::uint64_t> all;
      for (std::uint32_t index = 0; index < count; ++index) {
        file.install(index, count);
        detail::startRunCycle(users);
        CsvFeeder feeder("rows.csv",
                         {.mode = FeedMode::kUnique, .whenRowsRunOut = WhenRowsRunOut::kSkipHit});
        for (std::uint64_t row : drain(feeder, 4)) {
          CHECK(row % users % count == index);  // the rows of share i's users
          all.insert(row);
        }
      }
      INFO(users << " users, " << count << " shares");
      CHECK(all.size() == 1000);
      CHECK(std::set<std::uint64_t>(all.begin(), all.end()).size() == 1000);
    }
  }
  detail::installRunData({});
}

TEST_CASE("unique rows start over with each load cycle") {
  RowsFile file(10);
  file.install(0, 1);
  detail::startRunCycle(2);
  CsvFeeder feeder("rows.csv", {.mode = FeedMode::kUnique});
  CHECK(feeder.next().number() == 0);
  CHECK(feeder.next().number() == 1);
  detail::startRunCycle(5);
  CHECK(feeder.next().number() == 0);
  detail::installRunData({});
}

TEST_CASE("a unique feeder out of rows ends the run or skips the hit, as chosen") {
  RowsFile file(3);
  int stops = 0;
  file.install(0, 1, [&] { ++stops; });
  CsvFeeder ending("rows.csv", {.mode = FeedMode::kUnique});
  CsvFeeder skipping("rows.csv",
                     {.mode = FeedMode::kUnique, .whenRowsRunOut = WhenRowsRunOut::kSkipHit});
  for (int i = 0; i < 3; ++i) {
    ending.next();
    skipping.next();
  }
  CHECK_THROWS_WITH(skipping.next(),
                    Catch::Contains("3 rows are used up (unique feeder): hit skipped"));
  CHECK(stops == 0);
  CHECK_THROWS_WITH(ending.next(), Catch::Contains("the run ends"));
  CHECK(stops == 1);
  detail::installRunData({});
}

TEST_CASE(
    "circular feeders walk every row with agents starting apart, random ones repeat by seed") {
  RowsFile file(10);
  file.install(1, 2);
  CsvFeeder circular("rows.csv");
  std::vector<std::uint64_t> walked;
  for (int i = 0; i < 12; ++i) walked.push_back(circular.next().number());
  CHECK(walked == std::vector<std::uint64_t>{5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5, 6});
  auto draws = [&](std::uint64_t seed) {
    CsvFeeder random("rows.csv", {.mode = FeedMode::kRandom, .seed = seed});
    std::vector<std::uint64_t> out;
    for (int i = 0; i < 20; ++i) out.push_back(random.next().number());
    return out;
  };
  CHECK(draws(42) == draws(42));
  CHECK(draws(42) != draws(43));
  detail::installRunData({});
}

TEST_CASE("dataFile() and config() answer from the run's data, with one sentence when missing") {
  detail::installRunData(
      {{{"users.csv", "/data/users.csv"}}, {{"n", "12"}, {"on", "Yes"}, {"x", "1.5"}}});
  CHECK(dataFile("users.csv") == "/data/users.csv");
  CHECK(dataFile("some/dir/users.csv") == "/data/users.csv");
  CHECK_THROWS_WITH(dataFile("other.csv"),
                    Catch::Contains("give loads-master --include other.csv"));
  CHECK(config().getInt("n", 0) == 12);
  CHECK(config().getInt("missing", 7) == 7);
  CHECK(config().getBool("on", false));
  CHECK(config().getDouble("x", 0) == 1.5);
  CHECK(config().get("missing", "d") == "d");
  CHECK_THROWS_WITH(config().getInt("x", 0), "--param x=1.5 is not a whole number");
  detail::installRunData({});
}
