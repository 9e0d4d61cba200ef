#include "security/cli.hpp"

#include <CLI/CLI.hpp>

namespace loads::security {

void ClientKeyFiles::addOptions(CLI::App& app) {
  app.add_option("--key", keyFile, "this tool's CURVE key pair (a .key file of loads-keys)");
  app.add_option("--broker-key", brokerKeyFile, "the broker's public key (its .pub file)");
  app.add_flag("--insecure", insecure,
               "allow a non-loopback broker (and results socket) without keys: unauthenticated, "
               "unencrypted");
}

void ClientKeyFiles::load(const std::string& tool, const std::string& broker, KeyPair& key,
                          std::string& brokerKey) const {
  if (keyFile.empty() != brokerKeyFile.empty()) {
    throw ConfigError(
        "--key and --broker-key go together: this tool's key pair and the "
        "broker's public key");
  }
  if (!keyFile.empty()) {
    key = loadKeyPair(keyFile);
    brokerKey = loadPublicKey(brokerKeyFile);
  }
  requireKeysUnlessLoopback(tool, "connect to", broker, !key.empty(), insecure);
}

}  // namespace loads::security
