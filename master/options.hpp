// MasterOptions: everything loads-master was asked to do, parsed from its command line.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "runner.hpp"

namespace loads::master {

struct MasterOptions {
  std::string library;              // positional: the test library (.so)
  std::vector<std::string> tests;   // --test Class.method (repeatable); default: all
  bool list = false;                // --list: print the tests and exit
  RunOptions run;                   // load shape and user settings
  std::string jsonFile;             // --json FILE; default: none
  bool quiet = false;               // --quiet: no live status line
  std::string usersText = "1";      // -u as typed, for the report
  std::string hitsText;             // --hits as typed, for the report
};

// Parses argv. Returns the options, or an exit code when the program should end now
// (--help: 0; a usage error: 2, after printing one sentence to stderr).
struct ParseResult {
  std::optional<MasterOptions> options;
  int exitCode = 0;
};
ParseResult parseOptions(int argc, char** argv);

}  // namespace loads::master
