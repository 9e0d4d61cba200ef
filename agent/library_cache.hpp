// LibraryCache: test libraries an agent received, stored by sha256 in one directory, so
// a library is shipped once per agent, not once per run (PROTOCOL.md §5.2).
//
// A library is written to a fresh temporary file (O_EXCL: a planted symlink is never
// followed), fsynced, renamed to its sha256 name and the directory fsynced, so neither a
// crash nor a power loss leaves a partial library under a valid name. find() checks the
// file's sha256 again before handing it out to be loaded: a file damaged since (a disk
// error, a truncation by a power loss before this code fsynced) is removed and reported
// missing, so the agent fetches it again. Past `maxBytes` the least recently used
// libraries are evicted. The fallback directory in the shared temp dir must be this
// user's own, private and not a symlink (privateDirectory()).
// Not thread-safe: the agent's thread owns it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "proto/messages.hpp"

namespace loads::agent {

inline constexpr std::uint64_t kDefaultCacheMax = std::uint64_t{2} << 30;  // --cache-max 2GiB

class LibraryCache {
 public:
  // Creates `directory` if needed; throws std::runtime_error when it cannot. Libraries
  // beyond `maxBytes` in total are evicted, least recently used first.
  explicit LibraryCache(std::string directory, std::uint64_t maxBytes = kDefaultCacheMax);

  // Default directory: $XDG_CACHE_HOME/loads/libraries, else ~/.cache/loads/libraries,
  // else privateDirectory("/tmp/loads-libraries-<uid>").
  static std::string defaultDirectory();
  // `path` made (mode 0700) or accepted only when it is a directory, not a symlink, owned
  // by this user and closed to others; throws std::runtime_error with one sentence otherwise.
  static std::string privateDirectory(const std::string& path);

  // Path of the cached library, or nullopt when it is not (or no longer) cached. Its
  // content is checked against `sha256` first; a damaged file is removed. Marks it used.
  std::optional<std::string> find(const std::string& sha256);
  // Verifies `bytes` against `sha256` and stores them; returns the path, or nullopt with
  // `error` set (mismatch, disk full, ...). Evicts what goes beyond the size limit.
  std::optional<std::string> store(const std::string& sha256, const proto::Bytes& bytes,
                                   std::string& error);
  // Every sha256 in the cache, for HELLO.
  std::vector<std::string> list() const;

  const std::string& directory() const { return directory_; }

 private:
  std::string pathFor(const std::string& sha256) const;
  void evictBeyondLimit(const std::string& keep);
  std::string directory_;
  std::uint64_t maxBytes_;
};

}  // namespace loads::agent
