// LibraryCache: test libraries an agent received, stored by sha256 in one directory, so
// a library is shipped once per agent, not once per run (PROTOCOL.md §5.2).
//
// Files are written to a temporary name and renamed, so a crash never leaves a partial
// library under a valid name; contents are checked against their sha256 on store.
// Not thread-safe: the agent's thread owns it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "proto/messages.hpp"

namespace loads::agent {

class LibraryCache {
 public:
  // Creates `directory` if needed; throws std::runtime_error when it cannot.
  explicit LibraryCache(std::string directory);

  // Default directory: $XDG_CACHE_HOME/loads/libraries, else ~/.cache/loads/libraries,
  // else /tmp/loads-libraries-<uid>.
  static std::string defaultDirectory();

  // Path of the cached library, or nullopt when it is not (or no longer) cached.
  std::optional<std::string> find(const std::string& sha256) const;
  // Verifies `bytes` against `sha256` and stores them; returns the path, or nullopt with
  // `error` set (mismatch, disk full, ...).
  std::optional<std::string> store(const std::string& sha256, const proto::Bytes& bytes,
                                   std::string& error);
  // Every sha256 in the cache, for HELLO.
  std::vector<std::string> list() const;

  const std::string& directory() const { return directory_; }

 private:
  std::string pathFor(const std::string& sha256) const;
  std::string directory_;
};

}  // namespace loads::agent
