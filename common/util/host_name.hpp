#pragma once
// The machine's host name, as agents and masters report it to the broker and in reports.
// Thread-safe.

#include <string>

namespace loads {

// gethostname(), or "localhost" when it fails.
std::string hostName();

}  // namespace loads
