// LibraryCache: verified before use, written durably, bounded, private in the shared temp dir.
#include "agent/library_cache.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace loads;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name)
      : path(
            (fs::temp_directory_path() / ("loads-cache-" + name + "-" + std::to_string(::getpid())))
                .string()) {
    fs::remove_all(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

proto::Bytes library(char fill, std::size_t size) { return proto::Bytes(size, fill); }

std::string stored(agent::LibraryCache& cache, const proto::Bytes& bytes) {
  std::string error;
  auto path = cache.store(proto::sha256Hex(bytes), bytes, error);
  INFO(error);
  REQUIRE(path);
  return proto::sha256Hex(bytes);
}

}  // namespace

TEST_CASE("a cached library damaged after it was stored is not handed out, and removed") {
  TempDir dir("damaged");
  agent::LibraryCache cache(dir.path);
  const auto bytes = library('a', 4096);
  const std::string sha = stored(cache, bytes);
  REQUIRE(cache.find(sha));
  fs::resize_file(dir.path + "/" + sha + ".so", 1000);  // as a power loss could leave it
  CHECK_FALSE(cache.find(sha));
  CHECK_FALSE(fs::exists(dir.path + "/" + sha + ".so"));
  CHECK(cache.list().empty());  // not advertised in the next HELLO
}

TEST_CASE("past --cache-max the least recently used libraries are evicted") {
  TempDir dir("evict");
  agent::LibraryCache cache(dir.path, 3 * 1024);
  const std::string a = stored(cache, library('a', 1024));
  const std::string b = stored(cache, library('b', 1024));
  const std::string c = stored(cache, library('c', 1024));
  // Make the order of use unambiguous whatever the file system's time resolution.
  const auto now = fs::file_time_type::clock::now();
  fs::last_write_time(dir.path + "/" + a + ".so", now - std::chrono::seconds(30));
  fs::last_write_time(dir.path + "/" + b + ".so", now - std::chrono::seconds(20));
  fs::last_write_time(dir.path + "/" + c + ".so", now - std::chrono::seconds(10));
  REQUIRE(cache.find(a));  // a used now: b is the least recently used
  const std::string d = stored(cache, library('d', 1024));
  CHECK(cache.find(a));
  CHECK_FALSE(cache.find(b));
  CHECK(cache.find(c));
  CHECK(cache.find(d));
  // One library larger than the whole limit is kept (it is about to run); the rest goes.
  const std::string big = stored(cache, library('e', 8 * 1024));
  CHECK(cache.list() == std::vector<std::string>{big});
}

TEST_CASE("a store leaves no temporary file and never writes through a planted symlink") {
  TempDir dir("symlink");
  agent::LibraryCache cache(dir.path);
  const auto bytes = library('s', 2048);
  const std::string sha = proto::sha256Hex(bytes);
  const std::string victim = dir.path + "-victim";
  std::ofstream(victim) << "precious";
  // The names a predictable temporary file could have had (path.tmp<pid>, as before).
  fs::create_symlink(victim, dir.path + "/" + sha + ".so.tmp" + std::to_string(::getpid()));
  stored(cache, bytes);
  std::ifstream in(victim);
  std::string text;
  in >> text;
  CHECK(text == "precious");
  fs::remove(victim);
  std::size_t files = 0;
  for (const auto& entry : fs::directory_iterator(dir.path)) files += entry.is_regular_file();
  CHECK(files == 1);
}

TEST_CASE(
    "the fallback directory in the shared temp dir must be this user's, private and no symlink") {
  TempDir dir("private");
  CHECK(agent::LibraryCache::privateDirectory(dir.path) == dir.path);
  struct stat st {};
  REQUIRE(::lstat(dir.path.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  CHECK(agent::LibraryCache::privateDirectory(dir.path) == dir.path);  // its own: accepted again

  SECTION("open to others") {
    fs::permissions(dir.path, fs::perms::all);
    CHECK_THROWS_WITH(agent::LibraryCache::privateDirectory(dir.path),
                      Catch::Contains("is not a private directory of this user"));
  }
  SECTION("made by another user first") {
    if (::geteuid() != 0) {
      WARN("not root: cannot give a directory to another user, this section checks nothing");
      return;
    }
    REQUIRE(::chown(dir.path.c_str(), 65534, 65534) == 0);  // nobody; the tests run as root
    CHECK_THROWS_WITH(agent::LibraryCache::privateDirectory(dir.path),
                      Catch::Contains("is not a private directory of this user"));
  }
  SECTION("a symlink to a directory of this user") {
    TempDir link("private-link");
    fs::create_directory_symlink(dir.path, link.path);
    CHECK_THROWS_WITH(agent::LibraryCache::privateDirectory(link.path),
                      Catch::Contains("is not a private directory of this user"));
    fs::remove(link.path);
  }
}
