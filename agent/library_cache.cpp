#include "agent/library_cache.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace loads::agent {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kTemporaryPrefix = ".incoming-";  // + sha256 + mkstemp's XXXXXX

bool writeAll(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

void syncDirectory(const std::string& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

LibraryCache::LibraryCache(std::string directory, std::uint64_t maxBytes)
    : directory_(std::move(directory)), maxBytes_(maxBytes) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (!fs::is_directory(directory_)) {
    throw std::runtime_error("cannot create the library cache " + directory_ +
                             (ec ? ": " + ec.message() : "") + ": pass --cache-dir");
  }
  // Temporary files of a store that a crash interrupted.
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().filename().string().rfind(kTemporaryPrefix, 0) == 0)
      fs::remove(entry.path(), ec);
  }
}

std::string LibraryCache::defaultDirectory() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/loads/libraries";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/loads/libraries";
  }
  return privateDirectory(
      (fs::temp_directory_path() / ("loads-libraries-" + std::to_string(::getuid()))).string());
}

// In a directory every user can write to, another user may have created this name first
// (to read, replace or plant the libraries this agent loads) or made it a symlink.
std::string LibraryCache::privateDirectory(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) {
    throw std::runtime_error("cannot create the library cache " + path + ": " +
                             std::strerror(errno) + ": pass --cache-dir");
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    throw std::runtime_error("the library cache " + path +
                             " is not a private directory of this user (a symlink, another "
                             "owner, or open to others): remove it or pass --cache-dir");
  }
  return path;
}

std::string LibraryCache::pathFor(const std::string& sha256) const {
  return directory_ + "/" + sha256 + ".so";
}

std::optional<std::string> LibraryCache::find(const std::string& sha256) {
  if (!proto::isSha256Hex(sha256)) return std::nullopt;
  const std::string path = pathFor(sha256);
  std::error_code ec;
  if (!fs::is_regular_file(fs::symlink_status(path, ec))) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return std::nullopt;
  if (proto::sha256Hex(bytes) != sha256) {
    spdlog::warn(
        "cached library {} does not match its sha256 ({} bytes): removed, to be "
        "fetched again",
        path, bytes.size());
    fs::remove(path, ec);
    return std::nullopt;
  }
  fs::last_write_time(path, fs::file_time_type::clock::now(), ec);  // used now: evicted last
  return path;
}

std::optional<std::string> LibraryCache::store(const std::string& sha256, const proto::Bytes& bytes,
                                               std::string& error) {
  if (!proto::isSha256Hex(sha256) || proto::sha256Hex(bytes) != sha256) {
    error = "the library received does not match its sha256 " + sha256;
    return std::nullopt;
  }
  const std::string path = pathFor(sha256);
  std::string temporary = directory_ + "/" + std::string(kTemporaryPrefix) + sha256 + "XXXXXX";
  const int fd = ::mkostemp(temporary.data(), O_CLOEXEC);  // O_CREAT | O_EXCL, mode 0600
  if (fd < 0) {
    error = "cannot create a file in " + directory_ + ": " + std::strerror(errno);
    return std::nullopt;
  }
  const bool written = writeAll(fd, bytes.data(), bytes.size()) && ::fsync(fd) == 0;
  const int writeErrno = errno;
  ::close(fd);
  std::error_code ec;
  if (!written) {
    error = "cannot write " + temporary + ": " + std::strerror(writeErrno);
    fs::remove(temporary, ec);
    return std::nullopt;
  }
  fs::rename(temporary, path, ec);
  if (ec) {
    error = "cannot store " + path + ": " + ec.message();
    fs::remove(temporary, ec);
    return std::nullopt;
  }
  syncDirectory(directory_);  // the rename itself survives a power loss
  evictBeyondLimit(sha256);
  return path;
}

// Least recently used first: find() and store() set a library's modification time.
void LibraryCache::evictBeyondLimit(const std::string& keep) {
  struct Entry {
    fs::path path;
    std::uint64_t size;
    fs::file_time_type used;
  };
  std::vector<Entry> entries;
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().extension() != ".so" || !entry.is_regular_file(ec)) continue;
    const std::uint64_t size = entry.file_size(ec);
    total += size;
    if (entry.path().stem() != keep)
      entries.push_back({entry.path(), size, entry.last_write_time(ec)});
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.used < b.used; });
  for (const Entry& entry : entries) {
    if (total <= maxBytes_) break;
    if (fs::remove(entry.path, ec)) {
      spdlog::info("library cache over {} bytes: evicted {} ({} bytes, least recently used)",
                   maxBytes_, entry.path.string(), entry.size);
      total -= entry.size;
    }
  }
}

std::vector<std::string> LibraryCache::list() const {
  std::vector<std::string> shas;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory_, ec)) {
    if (entry.path().extension() != ".so") continue;
    std::string stem = entry.path().stem().string();
    if (proto::isSha256Hex(stem)) shas.push_back(std::move(stem));
  }
  return shas;
}

}  // namespace loads::agent
