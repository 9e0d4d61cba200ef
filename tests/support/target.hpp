// The example target server as a real process, for end-to-end tests.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace loads::testing {

class TargetProcess {
 public:
  // Starts build/examples/target/loads-target on an ephemeral port and waits (bounded)
  // for it to say where it listens. Extra arguments are passed through.
  explicit TargetProcess(std::vector<std::string> extra = {});
  const std::string& url() const { return url_; }
  int port() const { return port_; }
  // The target's own count of what it served (GET /stats).
  nlohmann::json stats() const;
  std::uint64_t served() const { return stats()["served"].get<std::uint64_t>(); }

 private:
  std::unique_ptr<Process> process_;
  std::string url_;
  int port_ = 0;
};

// Runs loads-master with these arguments; returns its result.
Completed runMaster(std::vector<std::string> args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(120));
// A fresh path for a report file under the build tree.
std::string tempPath(const std::string& name);
nlohmann::json readJson(const std::string& path);

}  // namespace loads::testing
