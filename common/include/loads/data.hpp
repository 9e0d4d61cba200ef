// Test data: files shipped with the run (loads-master --include), run parameters
// (--param key=value) and CSV feeders. The same calls answer the same way in a local run
// and on every agent of a distributed one (docs/data.md).
//
// Thread-safety: every function and every CsvFeeder member may be called from any user
// of any runner thread at once.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace loads {

// The path, on this machine, of a file the run included (--include data/users.csv is
// dataFile("users.csv")). Throws std::runtime_error, saying how to include it, when the
// run did not.
std::string dataFile(std::string_view name);

// The run's --param values, with typed helpers. A value that does not convert throws
// std::invalid_argument naming the parameter.
class Config {
 public:
  std::optional<std::string> find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key).has_value(); }
  std::string get(std::string_view key, std::string_view fallback = {}) const;
  std::int64_t getInt(std::string_view key, std::int64_t fallback) const;
  double getDouble(std::string_view key, double fallback) const;
  // true/false, yes/no, on/off, 1/0 (any case).
  bool getBool(std::string_view key, bool fallback) const;
};
const Config& config();

// How a feeder deals its rows (docs/data.md "Feeders").
enum class FeedMode {
  kCircular,  // every runner walks all rows in order, round and round (agents start apart)
  kUnique,    // each row once over the whole run, over all agents
  kRandom,    // rows drawn at random, from a seeded generator
};
// What a unique feeder does when its rows are used up.
enum class WhenRowsRunOut {
  kEndRun,   // the run ends (this runner's share of it); the hit is counted as a skip
  kSkipHit,  // the hit is skipped and counted as a skip; the run goes on
};

struct FeederOptions {
  FeedMode mode = FeedMode::kCircular;                      // circular
  WhenRowsRunOut whenRowsRunOut = WhenRowsRunOut::kEndRun;  // unique only: end the run
  std::uint64_t seed = 1;  // random: the generator's seed (mixed with the runner's share); 1
};

// One row of a CSV file: its values by column name (the header row) or position.
class CsvRow {
 public:
  CsvRow(std::shared_ptr<const std::vector<std::string>> columns, std::vector<std::string> values,
         std::uint64_t number)
      : columns_(std::move(columns)), values_(std::move(values)), number_(number) {}
  // The value in `column`; throws std::out_of_range naming the columns there are.
  const std::string& operator[](std::string_view column) const;
  const std::string& at(std::size_t index) const { return values_.at(index); }
  std::size_t size() const { return values_.size(); }
  // The row's number in the file, 0-based after the header.
  std::uint64_t number() const { return number_; }
  const std::vector<std::string>& columns() const { return *columns_; }

 private:
  std::shared_ptr<const std::vector<std::string>> columns_;
  std::vector<std::string> values_;
  std::uint64_t number_;
};

// A CSV file (RFC 4180: a header row, fields separated by commas, quoted with '"' where
// they hold commas, quotes ("" inside) or line breaks; UTF-8, a BOM is skipped) dealt out
// row by row. The file is a dataFile() name, read on the first next() (so a feeder may be
// a static object of the test library). A malformed file throws std::runtime_error with
// its line.
//
// Unique mode: row r belongs to user r mod U of the cycle's U users (over all agents), so
// each agent deals the rows of its own users (the rule that splits users over agents):
// each row is used once over the whole run, and with --hits the same rows are used and
// skipped over any number of agents as locally. Each load cycle starts over. Unique
// feeders of one file share its rows. With --rebalance the rows an agent that left had
// not dealt go to the others, once its slave has ended (docs/data.md).
class CsvFeeder {
 public:
  explicit CsvFeeder(std::string file, FeederOptions options = {});
  ~CsvFeeder();
  CsvFeeder(const CsvFeeder&) = delete;
  CsvFeeder& operator=(const CsvFeeder&) = delete;

  // The next row. Unique mode, rows used up: as options.whenRowsRunOut says (a
  // loads::SkipTest either way).
  CsvRow next();
  std::uint64_t rows();                       // rows in the file (reads it)
  const std::vector<std::string>& columns();  // the header (reads it)

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// Parses CSV text (the rules above); `source` names it in errors. Row 0 is the header.
std::vector<std::vector<std::string>> parseCsv(std::string_view text, std::string_view source);

}  // namespace loads
