#include "support/cluster.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace loads::testing {

using namespace std::chrono_literals;

int freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

int countLines(const std::string& text, const std::string& needle) {
  std::istringstream in(text);
  int n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

Cluster::Cluster(int agentCount, ClusterArgs extra)
    : args(std::move(extra)),
      frontend("tcp://127.0.0.1:" +
               std::to_string(args.frontendPort ? args.frontendPort : freePort())),
      backend("tcp://127.0.0.1:" +
              std::to_string(args.backendPort ? args.backendPort : freePort())),
      dir((std::filesystem::temp_directory_path() /
           ("loads-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(freePort())))
              .string()) {
  std::filesystem::create_directories(dir);
  startBroker();
  agents.resize(static_cast<std::size_t>(agentCount));
  for (std::size_t i = 0; i < agents.size(); ++i) startAgent(i);
  target = std::make_unique<Process>(
      std::vector<std::string>{built("examples/target/loads-target"), "--port", "0"});
  auto line = target->readLine(10s);
  REQUIRE(line);
  targetPort = std::stoi(line->substr(line->rfind(':') + 1));
  REQUIRE(eventually([&] { return agentsIn("idle") == agentCount; }, 20s));
}

Cluster::~Cluster() {
  for (auto& a : agents) a->signal(SIGTERM);
  for (auto& a : agents) a->wait(10s);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

void Cluster::startBroker() {
  std::vector<std::string> argv{built("broker/loads-broker"),
                                "--frontend",
                                frontend,
                                "--backend",
                                backend,
                                "--heartbeat",
                                "200ms",
                                "--liveness",
                                std::to_string(args.liveness)};
  argv.insert(argv.end(), args.broker.begin(), args.broker.end());
  broker = std::make_unique<Process>(argv);
}

void Cluster::startAgent(std::size_t i) {
  const std::string n = std::to_string(i);
  std::vector<std::string> argv{
      built("agent/loads-agent"), "--broker",     backend, "--id", "agent-" + n, "--cache-dir",
      dir + "/cache-" + n,        "--stop-grace", "3s"};
  if (args.agent) {
    auto more = args.agent(static_cast<int>(i));
    argv.insert(argv.end(), more.begin(), more.end());
  }
  agents.at(i) = std::make_unique<Process>(argv);
}

Completed Cluster::ping() const {
  std::vector<std::string> argv{built("master/loads-master"), "--broker", frontend, "--ping",
                                "--agents"};
  argv.insert(argv.end(), args.master.begin(), args.master.end());
  return runCommand(argv, 20s);
}

int Cluster::agentsIn(const std::string& state) const {
  auto p = ping();
  return p.code == 0 ? countLines(p.out, " " + state + " ") : -1;
}

std::vector<std::string> Cluster::master(std::vector<std::string> extra) const {
  std::vector<std::string> argv{built("master/loads-master"),
                                "--broker",
                                frontend,
                                built("examples/blog/libblog.so"),
                                "--server-url",
                                "http://127.0.0.1:" + std::to_string(targetPort),
                                "-q"};
  argv.insert(argv.end(), args.master.begin(), args.master.end());
  argv.insert(argv.end(), extra.begin(), extra.end());
  return argv;
}

std::uint64_t Cluster::served() const {
  auto stats = nlohmann::json::parse(httpRequest(targetPort, "GET", "/stats"));
  std::uint64_t n = 0;
  for (const char* path : {"/", "/comments"}) n += stats["paths"].value(path, std::uint64_t{0});
  return n;
}

// The agent forks from its loop thread, so every task's children are looked at.
pid_t Cluster::slaveOf(const Process& agent) {
  std::error_code ec;
  const std::string tasks = "/proc/" + std::to_string(agent.pid()) + "/task";
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream children(task.path() / "children");
    pid_t pid = 0;
    if (children >> pid && pid > 0) return pid;
  }
  return 0;
}

}  // namespace loads::testing
