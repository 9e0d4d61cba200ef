#include "security/curve.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <zmq.hpp>

namespace loads::security {
namespace {

namespace fs = std::filesystem;

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r") - first + 1);
}

// The `name = value` lines of a key file.
std::map<std::string, std::string> readKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError("cannot read key file " + path + ": " + std::strerror(errno));
  std::map<std::string, std::string> fields;
  for (std::string line; std::getline(in, line);) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const auto eq = line.find('=');
    if (eq == std::string::npos) {
      throw ConfigError(path +
                        " is not a loads key file (a line without '='): make keys with loads-keys");
    }
    fields[trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return fields;
}

std::string keyField(const std::map<std::string, std::string>& fields, const std::string& name,
                     const std::string& path) {
  const auto it = fields.find(name);
  if (it == fields.end()) {
    throw ConfigError(path + " has no " + name + " line: make keys with loads-keys");
  }
  if (!isZ85Key(it->second)) {
    throw ConfigError("the " + name + " in " + path + " is not a 40-character Z85 key");
  }
  return it->second;
}

// Creates `path` with `mode`, failing when it exists (O_EXCL), and writes `text`.
void writeNewFile(const fs::path& path, const std::string& text, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0) {
    throw ConfigError(errno == EEXIST
                          ? path.string() +
                                " exists already: keys are never overwritten, "
                                "remove it first or pick another name"
                          : "cannot write " + path.string() + ": " + std::strerror(errno));
  }
  ::fchmod(fd, mode);  // whatever the umask
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) throw ConfigError("cannot write " + path.string());
}

bool isLoopbackHost(std::string host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  return ::inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

}  // namespace

KeyPair generateKeyPair() {
  char publicKey[41] = {}, secretKey[41] = {};
  if (zmq_curve_keypair(publicKey, secretKey) != 0) {
    throw std::runtime_error(std::string("cannot make a CURVE key pair: ") +
                             zmq_strerror(zmq_errno()) + " (this libzmq is built without CURVE)");
  }
  return {publicKey, secretKey};
}

bool isZ85Key(const std::string& key) {
  std::uint8_t bytes[32];
  return key.size() == 40 && zmq_z85_decode(bytes, key.c_str()) != nullptr;
}

KeyPair loadKeyPair(const std::string& path) {
  const auto fields = readKeyFile(path);
  KeyPair keys{keyField(fields, "public-key", path), keyField(fields, "secret-key", path)};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    std::cerr << "warning: " << path << " is readable by other users: chmod 600 it" << std::endl;
  }
  return keys;
}

std::string loadPublicKey(const std::string& path) {
  return keyField(readKeyFile(path), "public-key", path);
}

std::set<std::string> loadAllowedKeys(const std::string& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) throw ConfigError("cannot read the key directory " + dir + ": " + ec.message());
  std::set<std::string> keys;
  for (const auto& entry : it) {
    if (entry.path().extension() == ".pub") keys.insert(loadPublicKey(entry.path().string()));
  }
  return keys;
}

void writeKeyFiles(const std::string& dir, const std::string& name, const KeyPair& keys) {
  const fs::path key = fs::path(dir) / (name + ".key"), pub = fs::path(dir) / (name + ".pub");
  for (const auto& path : {key, pub}) {
    if (fs::exists(path)) {
      throw ConfigError(path.string() +
                        " exists already: keys are never overwritten, remove "
                        "it first or pick another name");
    }
  }
  const std::string publicLine = "public-key = " + keys.publicKey + "\n";
  writeNewFile(key,
               "# loads CURVE key pair \"" + name + "\", made by loads-keys: keep it secret\n" +
                   publicLine + "secret-key = " + keys.secretKey + "\n",
               0600);
  writeNewFile(pub, "# loads CURVE public key \"" + name + "\", made by loads-keys\n" + publicLine,
               0644);
}

bool isLoopbackEndpoint(const std::string& endpoint) {
  if (endpoint.rfind("ipc://", 0) == 0 || endpoint.rfind("inproc://", 0) == 0) return true;
  if (endpoint.rfind("tcp://", 0) != 0) return false;
  std::string address = endpoint.substr(6);
  if (const auto semicolon = address.rfind(';'); semicolon != std::string::npos) {
    address = address.substr(semicolon + 1);  // tcp://source;destination: the destination
  }
  const auto colon = address.rfind(':');
  return colon != std::string::npos && isLoopbackHost(address.substr(0, colon));
}

void requireKeysUnlessLoopback(const std::string& tool, const std::string& action,
                               const std::string& endpoint, bool haveKeys, bool insecure) {
  if (haveKeys || isLoopbackEndpoint(endpoint)) return;
  if (!insecure) {
    throw ConfigError("refusing to " + action + " " + endpoint +
                      " without CURVE keys, as anyone who reaches it could run code on the "
                      "agents or read the results: make keys with `loads-keys --dir DIR broker "
                      "master agent` and pass them (--key, --broker-key; the broker --key, "
                      "--allow-masters, --allow-agents), or pass --insecure to run without them");
  }
  std::cerr << tool << ": WARNING: --insecure: " << endpoint
            << " is used WITHOUT authentication or encryption: anyone who can reach it can run "
               "native code on every agent and read every result"
            << std::endl;
}

void makeCurveServer(zmq::socket_t& socket, const KeyPair& own, const std::string& zapDomain) {
  socket.set(zmq::sockopt::curve_server, true);
  socket.set(zmq::sockopt::curve_secretkey, own.secretKey);
  socket.set(zmq::sockopt::zap_domain, zapDomain);
}

void makeCurveClient(zmq::socket_t& socket, const KeyPair& own, const std::string& serverKey) {
  socket.set(zmq::sockopt::curve_serverkey, serverKey);
  socket.set(zmq::sockopt::curve_publickey, own.publicKey);
  socket.set(zmq::sockopt::curve_secretkey, own.secretKey);
}

}  // namespace loads::security
