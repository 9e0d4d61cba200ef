// loads/data.hpp: CSV parsing and the CsvFeeder's three ways of dealing rows.
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <stdexcept>

#include "loads/data.hpp"
#include "loads/test_case.hpp"
#include "run/run_data.hpp"

namespace loads {

const std::string& CsvRow::operator[](std::string_view column) const {
  for (std::size_t i = 0; i < columns_->size(); ++i) {
    if ((*columns_)[i] == column) return values_.at(i);
  }
  std::string known;
  for (const auto& c : *columns_) known += (known.empty() ? "" : ", ") + c;
  throw std::out_of_range("no column '" + std::string(column) + "' in this CSV; it has: " + known);
}

std::vector<std::vector<std::string>> parseCsv(std::string_view text, std::string_view source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // a UTF-8 BOM
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> row;
  std::string field;
  std::size_t line = 1, rowLine = 1;
  bool quoted = false, wasQuoted = false;
  auto fail = [&](const std::string& what) {
    throw std::runtime_error(std::string(source) + " line " + std::to_string(line) + ": " + what);
  };
  auto endRow = [&] {
    row.push_back(std::move(field));
    field.clear();
    wasQuoted = false;
    // A blank line (one empty unquoted field) is no row.
    if (!(row.size() == 1 && row[0].empty())) {
      if (!rows.empty() && row.size() != rows[0].size()) {
        line = rowLine;
        fail(std::to_string(row.size()) + " fields, the header has " +
             std::to_string(rows[0].size()));
      }
      rows.push_back(std::move(row));
    }
    row.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
      continue;
    }
    if (c == '"') {
      if (!field.empty() || wasQuoted)
        fail("a quote inside an unquoted field: quote the whole field");
      quoted = wasQuoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
      wasQuoted = false;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      endRow();
      rowLine = ++line;
    } else {
      if (wasQuoted) fail("text after a closing quote");
      field += c;
    }
  }
  if (quoted) fail("a quoted field is not closed");
  if (!field.empty() || !row.empty() || wasQuoted) endRow();
  if (rows.empty())
    throw std::runtime_error(std::string(source) + " is empty: it needs a header row");
  return rows;
}

// Rows are read once, on the first next(). A unique feeder deals the rows of this
// runner's users, and those it took over from a runner that left (run/row_runs.hpp,
// detail::dealUniqueRow); each cycle starts over.
struct CsvFeeder::Impl {
  Impl(std::string file, FeederOptions options) : file(std::move(file)), options(options) {}

  void load() {  // with mutex held
    if (loaded) return;
    const std::string path = dataFile(file);
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read the data file " + file + " (" + path + ")");
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto all = parseCsv(text, file);
    columns = std::make_shared<const std::vector<std::string>>(std::move(all[0]));
    rows.assign(std::make_move_iterator(all.begin() + 1), std::make_move_iterator(all.end()));
    const detail::RunShare share = detail::runShare();
    circular = rows.empty() ? 0 : rows.size() * share.index / share.count;  // agents start apart
    random.seed(options.seed * 0x9E3779B97F4A7C15ull + share.index);
    loaded = true;
  }

  std::uint64_t take() {  // with mutex held; the row number
    if (rows.empty()) throw std::runtime_error("the data file " + file + " has no rows");
    switch (options.mode) {
      case FeedMode::kCircular: {
        const std::uint64_t row = circular;
        circular = (circular + 1) % rows.size();
        return row;
      }
      case FeedMode::kRandom:
        return std::uniform_int_distribution<std::uint64_t>(0, rows.size() - 1)(random);
      case FeedMode::kUnique:
        break;
    }
    return detail::dealUniqueRow(file, rows.size()).value_or(rows.size());
  }

  const std::string file;
  const FeederOptions options;
  std::mutex mutex;  // guards what follows; unique dealing has its own (run/run_data.hpp)
  bool loaded = false;
  std::shared_ptr<const std::vector<std::string>> columns;
  std::vector<std::vector<std::string>> rows;
  std::uint64_t circular = 0;  // circular: the next row
  std::mt19937_64 random;      // random
};

CsvFeeder::CsvFeeder(std::string file, FeederOptions options)
    : impl_(std::make_unique<Impl>(std::move(file), options)) {}

CsvFeeder::~CsvFeeder() = default;

CsvRow CsvFeeder::next() {
  std::unique_lock lock(impl_->mutex);
  impl_->load();
  const std::uint64_t row = impl_->take();
  if (row < impl_->rows.size()) return CsvRow(impl_->columns, impl_->rows[row], row);
  lock.unlock();
  const std::string used = impl_->file + ": its " + std::to_string(impl_->rows.size()) +
                           " rows are used up (unique feeder)";
  if (impl_->options.whenRowsRunOut == WhenRowsRunOut::kSkipHit) {
    throw SkipTest(used + ": hit skipped");
  }
  detail::stopCurrentRun();
  throw SkipTest(used + ": the run ends");
}

std::uint64_t CsvFeeder::rows() {
  std::lock_guard lock(impl_->mutex);
  impl_->load();
  return impl_->rows.size();
}

const std::vector<std::string>& CsvFeeder::columns() {
  std::lock_guard lock(impl_->mutex);
  impl_->load();
  return *impl_->columns;
}

}  // namespace loads
