#include "support/target.hpp"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace loads::testing {

TargetProcess::TargetProcess(std::vector<std::string> extra) {
  std::vector<std::string> argv{built("examples/target/loads-target"), "--port", "0"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  process_ = std::make_unique<Process>(argv);
  auto line = process_->readLine(std::chrono::seconds(10));
  const std::string prefix = "listening on ";
  if (!line || line->rfind(prefix, 0) != 0) {
    throw std::runtime_error("loads-target did not start: " + process_->err());
  }
  url_ = line->substr(prefix.size());
  port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
}

nlohmann::json TargetProcess::stats() const {
  return nlohmann::json::parse(httpRequest(port_, "GET", "/stats"));
}

Completed runMaster(std::vector<std::string> args, std::chrono::milliseconds timeout) {
  args.insert(args.begin(), built("master/loads-master"));
  return runCommand(args, timeout);
}

std::string tempPath(const std::string& name) {
  static std::atomic<int> counter{0};
  auto dir = std::filesystem::path(LOADS_BINARY_DIR) / "test-output";
  std::filesystem::create_directories(dir);
  return (dir / (std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + name))
      .string();
}

nlohmann::json readJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("no report at " + path);
  return nlohmann::json::parse(in);
}

}  // namespace loads::testing
