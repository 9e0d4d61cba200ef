// Table: console columns padded to their widest cell, so no value runs into the next one.
#pragma once

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

namespace loads {

// Columns padded to their widest cell. `align` has one letter per column, 'l' or 'r';
// by default the first column is left-aligned (names) and the others right (numbers).
class Table {
 public:
  explicit Table(std::vector<std::string> header, std::string align = "l")
      : align_(std::move(align)) {
    align_.resize(header.size(), 'r');
    rows_.push_back(std::move(header));
  }
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const {
    std::vector<std::size_t> widths(rows_.front().size(), 0);
    for (const auto& row : rows_) {
      for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
        widths[i] = std::max(widths[i], row[i].size());
      }
    }
    for (const auto& row : rows_) {
      std::string line;
      for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
        const std::string pad(widths[i] - row[i].size(), ' ');
        if (i > 0) line += "  ";
        line += align_[i] == 'l' ? row[i] + pad : pad + row[i];
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out << "  " << line << '\n';
    }
  }

 private:
  std::string align_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace loads
