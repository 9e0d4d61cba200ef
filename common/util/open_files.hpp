#pragma once
// The open-files limit. A broker or master of a fleet holds one connection per agent, a
// runner about one per user: each raises its soft limit to the hard one at start.
// Thread-safe (it only calls getrlimit/setrlimit).

#include <cstdint>

namespace loads {

// Raises this process's open-files soft limit to its hard limit; returns the soft limit
// now in force (UINT64_MAX when unlimited, or when it cannot be read).
std::uint64_t raiseOpenFilesLimit();

}  // namespace loads
