// loads-keys: makes CURVE key pairs for loads-broker, loads-agent and loads-master:
// DIR/NAME.key (public and secret key, mode 0600) and DIR/NAME.pub (public key) per
// NAME, in the format of PROTOCOL.md §9.4. Never overwrites a key.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "loads/version.hpp"
#include "security/curve.hpp"

int main(int argc, char** argv) {
  std::string dir = ".";
  std::vector<std::string> names;
  CLI::App app{
      "loads-keys: make CURVE key pairs (NAME.key, secret, mode 0600; NAME.pub) for loads"};
  app.set_version_flag("--version", LOADS_VERSION);
  app.add_option("--dir", dir, "where to write the files (default: the current directory)");
  app.add_option("name", names, "one key pair per name, e.g. broker master agent")->required();
  app.footer("Exit codes: 0 written, 2 usage error or a file exists already.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto& name : names) {
      if (name.empty() || name.find('/') != std::string::npos || name[0] == '.') {
        throw loads::security::ConfigError(
            "\"" + name + "\" is not a key name: use a plain file name such as agent1");
      }
    }
    std::filesystem::create_directories(dir);
    for (const auto& name : names) {
      loads::security::writeKeyFiles(dir, name, loads::security::generateKeyPair());
      std::cout << (std::filesystem::path(dir) / (name + ".key")).string() << " "
                << (std::filesystem::path(dir) / (name + ".pub")).string() << std::endl;
    }
  } catch (const std::exception& e) {
    std::cerr << "loads-keys: " << e.what() << std::endl;
    return 2;
  }
  return 0;
}
