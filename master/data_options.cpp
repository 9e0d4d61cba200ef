#include "master/data_options.hpp"

#include <glob.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <stdexcept>

namespace loads::master {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> expand(const std::string& pattern) {
  glob_t found{};
  std::vector<std::string> paths;
  if (::glob(pattern.c_str(), 0, nullptr, &found) == 0) {
    for (std::size_t i = 0; i < found.gl_pathc; ++i) paths.emplace_back(found.gl_pathv[i]);
  }
  ::globfree(&found);
  if (paths.empty()) {
    throw std::invalid_argument(
        "--include " + pattern + ": no such file" +
        (pattern.find_first_of("*?[") != std::string::npos ? " matches the pattern" : "") +
        " (paths are relative to where loads-master runs)");
  }
  return paths;
}

std::string mebibytes(std::uint64_t bytes) {
  return std::to_string(bytes / (1 << 20)) + "." +
         std::to_string(bytes % (1 << 20) * 10 / (1 << 20)) + " MiB";
}

}  // namespace

void addDataOptions(CLI::App& app, DataOptionsText& text) {
  app.add_option("--include", text.includes,
                 "Ship this data file (or glob) with the run; tests open it with "
                 "loads::dataFile(\"NAME\") here and on every agent (repeatable)")
      ->allow_extra_args(false);
  app.add_option("--param", text.params,
                 "A run parameter key=value, read in tests with loads::config() (repeatable)")
      ->allow_extra_args(false);
}

void applyDataOptions(const DataOptionsText& text, RunOptions& run) {
  std::uint64_t total = 0;
  for (const std::string& pattern : text.includes) {
    for (const std::string& path : expand(pattern)) {
      std::error_code ec;
      if (!fs::is_regular_file(path, ec)) {
        throw std::invalid_argument("--include " + path + " is not a regular file");
      }
      const std::string name = fs::path(path).filename().string();
      if (auto [it, added] = run.files.emplace(name, path); !added && it->second != path) {
        throw std::invalid_argument("--include " + path + " and " + it->second +
                                    " have the same name, " + name +
                                    ": tests find files by name, so rename one");
      } else if (added) {
        total += fs::file_size(path, ec);
      }
    }
  }
  if (total > kMaxIncludeBytes) {
    throw std::invalid_argument("--include: the files total " + mebibytes(total) + ", above the " +
                                mebibytes(kMaxIncludeBytes) +
                                " a run can ship to its agents: split the data or load it "
                                "from a server the tests can reach");
  }
  for (const std::string& pair : text.params) {
    const auto eq = pair.find('=');
    if (eq == std::string::npos || eq == 0) {
      throw std::invalid_argument("--param " + pair + ": write it as key=value");
    }
    run.params[pair.substr(0, eq)] = pair.substr(eq + 1);  // a later one wins
  }
}

}  // namespace loads::master
