// loads-master --config FILE (master/config_file.hpp) and the test-data options
// (master/data_options.hpp), through parseOptions as the tool runs it.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "master/data_options.hpp"
#include "master/options.hpp"

namespace fs = std::filesystem;
using loads::master::parseOptions;

namespace {

struct Parsed {
  loads::master::ParseResult result;
  std::string out, err;
};

Parsed parse(std::vector<std::string> args) {
  args.insert(args.begin(), "loads-master");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto* oldOut = std::cout.rdbuf(out.rdbuf());
  auto* oldErr = std::cerr.rdbuf(err.rdbuf());
  Parsed p{parseOptions(static_cast<int>(argv.size()), argv.data()), "", ""};
  std::cout.rdbuf(oldOut);
  std::cerr.rdbuf(oldErr);
  p.out = out.str();
  p.err = err.str();
  return p;
}

// A fresh directory for the test's files, removed at the end.
struct Dir {
  fs::path path = fs::temp_directory_path() / ("loads-config-test-" + std::to_string(::getpid()));
  Dir() { fs::create_directories(path); }
  ~Dir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(path / name, std::ios::binary) << text;
    return (path / name).string();
  }
};

}  // namespace

TEST_CASE("a TOML config gives loads-master its options, each key an option's long name") {
  Dir dir;
  const std::string file = dir.write("run.toml", R"(# a run of the blog
library = "libblog.so"
users = "10:20"
hits = 5
test = ["Blog.test_home:9", "Blog.test_post"]
insecure-skip-tls-verify = true
timeout = "10s"
threads = 3
param = ["tenant=acme", "repeat=2"]
server-url = "http://127.0.0.1:8080"
)");
  const Parsed p = parse({"--config", file});
  INFO(p.err);
  REQUIRE(p.result.options);
  const auto& o = *p.result.options;
  CHECK(o.library == "libblog.so");
  CHECK(o.run.userCycles == std::vector<std::uint64_t>{10, 20});
  CHECK(o.run.hitCycles == std::vector<std::uint64_t>{5});
  CHECK(o.tests == std::vector<std::string>{"Blog.test_home:9", "Blog.test_post"});
  CHECK(o.run.user.insecure);
  CHECK(o.run.user.requestTimeout == std::chrono::seconds(10));
  CHECK(o.run.threads == 3);
  CHECK(o.run.params == std::map<std::string, std::string>{{"repeat", "2"}, {"tenant", "acme"}});
  CHECK(o.run.user.serverUrl == "http://127.0.0.1:8080");
}

TEST_CASE("the command line overrides the config file, option by option") {
  Dir dir;
  const std::string file = dir.write("run.toml",
                                     "library = \"a.so\"\nusers = \"10\"\nhits = 5\n"
                                     "test = [\"A.x\", \"A.y\"]\nquiet = false\n");
  const Parsed p = parse({"--config", file, "b.so", "-u", "7", "--test", "A.z", "-q"});
  INFO(p.err);
  REQUIRE(p.result.options);
  CHECK(p.result.options->library == "b.so");
  CHECK(p.result.options->run.userCycles == std::vector<std::uint64_t>{7});
  CHECK(p.result.options->run.hitCycles == std::vector<std::uint64_t>{5});  // from the file
  CHECK(p.result.options->tests == std::vector<std::string>{"A.z"});        // replaces the list
  CHECK(p.result.options->quiet);
}

TEST_CASE("unknown keys, sections and wrong types exit 2 naming the file, the line and the key") {
  Dir dir;
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {"library = \"a.so\"\n\nuserz = 3\n", ":3: key 'userz' is not a loads-master option"},
      {"library = \"a.so\"\nquiet = \"yes\"\n", ":2: key 'quiet' is a flag: give true or false"},
      {"threads = \"3\"\n", ":1: key 'threads' is a number: write it without quotes"},
      {"\njson = [\"a.json\", \"b.json\"]\n", ":2: key 'json' takes one value, not a list"},
      {"users = true\n", ":1: key 'users' takes a value, not true or false"},
      {"library = \"a.so\"\n[run]\nusers = 3\n", ":2: key 'run' is a [section]"},
      {"library = \"a.so\"\nconfig = \"other.toml\"\n", ":2: key 'config' is not a loads-master"},
      {"library = \"a.so\"\nusers = \n", ":2: not TOML"},
  };
  for (const auto& c : cases) {
    const std::string file = dir.write("bad.toml", c.text);
    const Parsed p = parse({"--config", file});
    INFO(c.text << "\n" << p.err);
    CHECK(p.result.exitCode == 2);
    CHECK_THAT(p.err, Catch::Contains(file + c.expected));
    CHECK(std::count(p.err.begin(), p.err.end(), '\n') == 1);  // one sentence
  }
  const Parsed missing = parse({"--config", (dir.path / "none.toml").string()});
  CHECK(missing.result.exitCode == 2);
  CHECK_THAT(missing.err, Catch::Contains("none.toml"));
}

TEST_CASE("every long option of loads-master is a key of the config file") {
  // The option table is the one source: each --name of --help is found as `name`.
  const Parsed help = parse({"--help"});
  std::set<std::string> names;
  const std::regex option("--([a-z][a-z0-9-]+)");
  for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), option);
       it != std::sregex_iterator(); ++it) {
    names.insert((*it)[1]);
  }
  for (const char* name : {"users", "test", "include", "param", "rebalance", "threshold"}) {
    CHECK(names.count(name) == 1);
  }
  Dir dir;
  for (const std::string& name : names) {
    if (name == "config" || name == "help" || name == "version") continue;
    const std::string file = dir.write("one.toml", name + " = true\n");
    const Parsed p = parse({"--config", file, "lib.so"});
    INFO(name << ": " << p.err);
    CHECK(p.err.find("is not a loads-master option") == std::string::npos);
  }
}

TEST_CASE("included files: globs expand, files go by name, clashes and the size cap are refused") {
  Dir dir;
  dir.write("a.csv", "id\n1\n");
  dir.write("b.csv", "id\n2\n");
  fs::create_directories(dir.path / "other");
  dir.write("other/a.csv", "id\n3\n");
  const std::string glob = (dir.path / "*.csv").string();
  Parsed p = parse({"lib.so", "--include", glob, "--param", "k=v=w"});
  INFO(p.err);
  REQUIRE(p.result.options);
  CHECK(p.result.options->run.files ==
        std::map<std::string, std::string>{{"a.csv", (dir.path / "a.csv").string()},
                                           {"b.csv", (dir.path / "b.csv").string()}});
  CHECK(p.result.options->run.params.at("k") == "v=w");

  p = parse({"lib.so", "--include", glob, "--include", (dir.path / "other/a.csv").string()});
  CHECK(p.result.exitCode == 2);
  CHECK_THAT(p.err, Catch::Contains("have the same name, a.csv"));

  p = parse({"lib.so", "--include", (dir.path / "*.tsv").string()});
  CHECK(p.result.exitCode == 2);
  CHECK_THAT(p.err, Catch::Contains("no such file matches the pattern"));

  p = parse({"lib.so", "--include", dir.path.string()});
  CHECK(p.result.exitCode == 2);
  CHECK_THAT(p.err, Catch::Contains("is not a regular file"));

  const std::string big = dir.write("big.bin", "");
  fs::resize_file(big, loads::master::kMaxIncludeBytes + 1);  // sparse: no disk used
  p = parse({"lib.so", "--include", big});
  CHECK(p.result.exitCode == 2);
  CHECK_THAT(p.err, Catch::Contains("above the 32.0 MiB a run can ship"));

  p = parse({"lib.so", "--param", "novalue"});
  CHECK(p.result.exitCode == 2);
  CHECK_THAT(p.err, Catch::Contains("--param novalue: write it as key=value"));
}
