// The key options of a CURVE client tool (loads-agent, loads-master): --key, --broker-key
// and --insecure, and the secure-by-default rule for the broker endpoint (PROTOCOL.md §9).
#pragma once

#include <string>

#include "security/curve.hpp"

namespace CLI {
class App;
}

namespace loads::security {

struct ClientKeyFiles {
  std::string keyFile;        // --key FILE.key: this tool's key pair; ""
  std::string brokerKeyFile;  // --broker-key FILE.pub: the broker's public key; ""
  bool insecure = false;      // --insecure: allow a non-loopback broker without keys

  void addOptions(CLI::App& app);
  // Reads the files into `key` and `brokerKey` (left empty without --key), then applies
  // the rule to `broker`. Throws ConfigError.
  void load(const std::string& tool, const std::string& broker, KeyPair& key,
            std::string& brokerKey) const;
};

}  // namespace loads::security
