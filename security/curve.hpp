// CURVE key pairs, key files and the secure-by-default endpoint policy shared by the
// broker, the agent, the slave and the master (PROTOCOL.md §9).
//
// Key files are text, one `name = value` per line, `#` comments (PROTOCOL.md §9.4).
// Every function here is thread-safe (no shared state).
#pragma once

#include <set>
#include <stdexcept>
#include <string>

namespace zmq {
class socket_t;
}

namespace loads::security {

// A configuration problem (bad key file, missing key, insecure endpoint): one sentence;
// the tools print it and exit 2.
class ConfigError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct KeyPair {
  std::string publicKey;  // Z85, 40 characters; "" = no key pair
  std::string secretKey;  // Z85, 40 characters; "" = no key pair
  bool empty() const { return publicKey.empty(); }
};

// A fresh key pair (zmq_curve_keypair). Throws std::runtime_error when libzmq has no CURVE.
KeyPair generateKeyPair();
// True when `key` is 40 Z85 characters that decode to 32 bytes.
bool isZ85Key(const std::string& key);

// Reads a .key file (public-key and secret-key); throws ConfigError naming the file.
KeyPair loadKeyPair(const std::string& path);
// Reads the public-key of a .pub (or .key) file; throws ConfigError naming the file.
std::string loadPublicKey(const std::string& path);
// Every *.pub in `dir`; throws ConfigError when it is not a readable directory.
std::set<std::string> loadAllowedKeys(const std::string& dir);
// Writes dir/name.key (mode 0600) and dir/name.pub; throws ConfigError when either
// exists already (keys are never overwritten) or cannot be written.
void writeKeyFiles(const std::string& dir, const std::string& name, const KeyPair& keys);

// True for ipc://, inproc://, and tcp:// on 127.0.0.0/8, [::1]/::1 or localhost.
bool isLoopbackEndpoint(const std::string& endpoint);

// The secure-by-default rule (PROTOCOL.md §9.2) for one endpoint of `tool`: throws
// ConfigError (how to make keys, or --insecure) when `endpoint` is not loopback, there
// are no keys and `insecure` is false; warns on stderr when `insecure` lets it through.
// `action` is "bind" or "connect to".
void requireKeysUnlessLoopback(const std::string& tool, const std::string& action,
                               const std::string& endpoint, bool haveKeys, bool insecure);

// Socket options, set before bind/connect. A server checks clients with the ZAP handler
// of its context under `zapDomain`; a client verifies the server's public key.
void makeCurveServer(zmq::socket_t& socket, const KeyPair& own, const std::string& zapDomain);
void makeCurveClient(zmq::socket_t& socket, const KeyPair& own, const std::string& serverKey);

}  // namespace loads::security
