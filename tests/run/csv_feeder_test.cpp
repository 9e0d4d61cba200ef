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
#include "run/row_runs.hpp"
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

namespace {

// One share of a distributed run in this process: its feeder, and what it claimed.
struct Share {
  const RowsFile& file;
  std::uint32_t index, count;
  std::uint64_t users;
  RowClaims claims;
  std::vector<RowRun> runs{ownRun(index)};  // as the master keeps them

  void start() {
    detail::RunData data{{{"rows.csv", file.path}}, {}, index, count, {}};
    data.claimRows = [this](std::string_view feed, std::uint32_t run, std::uint64_t upTo,
                            bool exact) {
      claims[{std::string(feed), run}].note(upTo, exact);
    };
    detail::installRunData(std::move(data));
    detail::startRunCycle(users);
  }
  // Deals up to `n` rows with 3 threads (all when n is 0).
  std::vector<std::uint64_t> deal(std::uint64_t n) {
    CsvFeeder feeder("rows.csv",
                     {.mode = FeedMode::kUnique, .whenRowsRunOut = WhenRowsRunOut::kSkipHit});
    if (n == 0) return drain(feeder, 3);
    std::vector<std::uint64_t> out;
    for (std::uint64_t i = 0; i < n; ++i) out.push_back(feeder.next().number());
    return out;
  }
};

// `left`'s rows past its claims go to `holders` (new indices 0..n-1), as the master does.
void moveRows(Share& left, std::vector<Share*> holders) {
  auto rest = remainingRows(left.runs, left.claims);
  REQUIRE(rest);
  for (std::uint32_t j = 0; j < holders.size(); ++j) {
    auto part = shareOfRows(*rest, j, static_cast<std::uint32_t>(holders.size()));
    REQUIRE(part);
    holders[j]->runs.insert(holders[j]->runs.end(), part->begin(), part->end());
  }
}

}  // namespace

TEST_CASE("rows a share left with are dealt by the others: none twice, none lost, over 2 losses") {
  // 4 shares of 11 users over 5,000 rows. Share 1 leaves after 300 rows, its rest goes
  // to shares 0, 2 and 3; then share 3, which had taken some over, leaves after 900
  // more, and its rest goes to 0 and 2, which deal everything left.
  RowsFile file(5000);
  std::vector<Share> shares;
  for (std::uint32_t i = 0; i < 4; ++i) shares.push_back({file, i, 4, 11});
  std::multiset<std::uint64_t> dealt;
  auto deal = [&](Share& share, std::uint64_t n, bool release) {
    share.start();
    // Rows taken over before this process started its share: as REBALANCE would add them.
    for (std::size_t q = 1; q < share.runs.size(); ++q) {
      detail::takeOverRows({share.runs[q]}, 0, 1);
    }
    for (std::uint64_t row : share.deal(n)) dealt.insert(row);
    if (release) detail::releaseRowClaims();
  };
  deal(shares[1], 300, true);
  moveRows(shares[1], {&shares[0], &shares[2], &shares[3]});
  deal(shares[3], 900, true);
  moveRows(shares[3], {&shares[0], &shares[2]});
  deal(shares[0], 0, true);
  deal(shares[2], 0, true);
  detail::installRunData({});
  CHECK(dealt.size() == 5000);
  CHECK(std::set<std::uint64_t>(dealt.begin(), dealt.end()).size() == 5000);
  // The exact claims say what each dealt.
  std::uint64_t claimed = 0;
  for (auto& share : shares) {
    for (const auto& [key, claim] : share.claims) {
      CHECK(claim.exact);
      claimed += claim.upTo;
    }
  }
  CHECK(claimed == 5000);
}

TEST_CASE("a share that died after claiming ahead leaves its claimed rows unused, none twice") {
  // No exact claim: the slave crashed. What it claimed ahead of its 250 rows stays unused.
  RowsFile file(3000);
  std::vector<Share> shares;
  for (std::uint32_t i = 0; i < 3; ++i) shares.push_back({file, i, 3, 7});
  std::multiset<std::uint64_t> dealt;
  shares[2].start();
  for (std::uint64_t row : shares[2].deal(250)) dealt.insert(row);
  const RowClaim ahead = shares[2].claims.at({"rows.csv", 0});
  CHECK(!ahead.exact);
  CHECK(ahead.upTo >= 250);
  CHECK(ahead.upTo <= 250 + 250 / 8 + 16);  // claims run at most a block ahead
  moveRows(shares[2], {&shares[0], &shares[1]});
  for (std::uint32_t i = 0; i < 2; ++i) {
    shares[i].start();
    for (std::size_t q = 1; q < shares[i].runs.size(); ++q) {
      detail::takeOverRows({shares[i].runs[q]}, 0, 1);
    }
    for (std::uint64_t row : shares[i].deal(0)) dealt.insert(row);
  }
  detail::installRunData({});
  CHECK(std::set<std::uint64_t>(dealt.begin(), dealt.end()).size() == dealt.size());
  CHECK(dealt.size() == 3000 - (ahead.upTo - 250));
}

TEST_CASE("more shares than users: a share without users deals the rows it takes over") {
  // 2 users over 3 shares: share 2 owns no row. Share 0 leaves after 100 of its 500; its
  // other 400 go to shares 1 and 2 (new indices 0 and 1), and share 2 deals its half.
  RowsFile file(1000);
  std::vector<Share> shares;
  for (std::uint32_t i = 0; i < 3; ++i) shares.push_back({file, i, 3, 2});
  std::multiset<std::uint64_t> dealt;
  shares[0].start();
  for (std::uint64_t row : shares[0].deal(100)) dealt.insert(row);
  detail::releaseRowClaims();
  moveRows(shares[0], {&shares[1], &shares[2]});
  std::map<std::uint32_t, std::size_t> byShare;
  for (std::uint32_t i = 1; i < 3; ++i) {
    shares[i].start();
    for (std::size_t q = 1; q < shares[i].runs.size(); ++q) {
      detail::takeOverRows({shares[i].runs[q]}, 0, 1);
    }
    for (std::uint64_t row : shares[i].deal(0)) {
      dealt.insert(row);
      ++byShare[i];
    }
  }
  detail::installRunData({});
  CHECK(dealt.size() == 1000);
  CHECK(std::set<std::uint64_t>(dealt.begin(), dealt.end()).size() == 1000);
  CHECK(byShare[1] == 500 + 200);  // its own and half of the rest
  CHECK(byShare[2] == 200);        // none of its own
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
  // Two unique feeders of one file share its rows: each row once over the run.
  ending.next();
  skipping.next();
  ending.next();
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
