// --config FILE: a tool's options from a TOML file (toml++), generic over the tool's
// CLI11 option table, so that every command-line option (any added later too) is a key:
// `users = "10:20"`, `insecure-skip-tls-verify = true`, `test = ["Blog.test_home:9"]`,
// `library = "libblog.so"` (the positional). The command line overrides the file, option
// by option (a repeatable option given on the command line replaces the file's list).
//
// An unknown key, a section, or a value of the wrong type (a string for a flag, a list
// for an option taken once, text for a number) is a usage error: the tool exits 2 with
// "FILE:LINE: key 'KEY' ..." (docs/config.md).
//
// Thread-safety: used while parsing options, on one thread.
#pragma once

#include <string>

namespace CLI {
class App;
}

namespace loads::master {

// Adds --config FILE to `app` and reads it as TOML when given.
void addConfigFileOption(CLI::App& app);

}  // namespace loads::master
