#include "agent/library_cache.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace loads::agent {

namespace fs = std::filesystem;

LibraryCache::LibraryCache(std::string directory) : directory_(std::move(directory)) {
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (!fs::is_directory(directory_)) {
    throw std::runtime_error("cannot create the library cache " + directory_ +
                             (ec ? ": " + ec.message() : "") + ": pass --cache-dir");
  }
}

std::string LibraryCache::defaultDirectory() {
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/loads/libraries";
  }
  if (const char* home = std::getenv("HOME"); home && *home) {
    return std::string(home) + "/.cache/loads/libraries";
  }
  return "/tmp/loads-libraries-" + std::to_string(::getuid());
}

std::string LibraryCache::pathFor(const std::string& sha256) const {
  return directory_ + "/" + sha256 + ".so";
}

std::optional<std::string> LibraryCache::find(const std::string& sha256) const {
  if (!proto::isSha256Hex(sha256)) return std::nullopt;
  const std::string path = pathFor(sha256);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  return path;
}

std::optional<std::string> LibraryCache::store(const std::string& sha256, const proto::Bytes& bytes,
                                               std::string& error) {
  if (!proto::isSha256Hex(sha256) || proto::sha256Hex(bytes) != sha256) {
    error = "the library received does not match its sha256 " + sha256;
    return std::nullopt;
  }
  const std::string path = pathFor(sha256);
  const std::string temporary = path + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
      error = "cannot write " + temporary;
      std::error_code ignored;
      fs::remove(temporary, ignored);
      return std::nullopt;
    }
  }
  std::error_code ec;
  fs::rename(temporary, path, ec);
  if (ec) {
    error = "cannot store " + path + ": " + ec.message();
    return std::nullopt;
  }
  return path;
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
