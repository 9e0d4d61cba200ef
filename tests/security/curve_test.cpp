// Key files and the loopback rule (security/curve.hpp, PROTOCOL.md §9.2, §9.4).
#include "security/curve.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "support/process.hpp"
#include "support/target.hpp"

using namespace loads::security;

TEST_CASE("only 127.0.0.0/8, ::1, localhost, ipc and inproc count as loopback") {
  for (const char* local :
       {"tcp://127.0.0.1:7780", "tcp://127.9.8.7:*", "tcp://localhost:1", "tcp://[::1]:7780",
        "ipc:///tmp/loads", "inproc://x", "tcp://10.0.0.1:5;127.0.0.1:7780"}) {
    CHECK(isLoopbackEndpoint(local));
  }
  for (const char* remote : {"tcp://*:7780", "tcp://0.0.0.0:7780", "tcp://[::]:7780",
                             "tcp://lo:7780", "tcp://coord:7781", "tcp://10.1.2.3:7780",
                             "tcp://128.0.0.1:1", "tcp://[::ffff:127.0.0.1]:1",
                             "tcp://localhost.evil:1", "udp://127.0.0.1:1", "tcp://127.0.0.1"}) {
    CHECK_FALSE(isLoopbackEndpoint(remote));
  }
}

TEST_CASE("the rule throws one sentence without keys, and lets keys or --insecure through") {
  CHECK_NOTHROW(requireKeysUnlessLoopback("t", "bind", "tcp://127.0.0.1:1", false, false));
  CHECK_NOTHROW(requireKeysUnlessLoopback("t", "bind", "tcp://*:1", true, false));
  CHECK_NOTHROW(requireKeysUnlessLoopback("t", "bind", "tcp://*:1", false, true));
  CHECK_THROWS_WITH(
      requireKeysUnlessLoopback("t", "connect to", "tcp://coord:7781", false, false),
      Catch::StartsWith("refusing to connect to tcp://coord:7781 without CURVE keys") &&
          Catch::Contains("loads-keys") && Catch::Contains("--insecure"));
}

TEST_CASE("a written key pair reads back, and bad key files are one sentence each") {
  const std::string dir = loads::testing::tempPath("curve-keys");
  std::filesystem::create_directories(dir);
  const KeyPair keys = generateKeyPair();
  CHECK(isZ85Key(keys.publicKey));
  CHECK(isZ85Key(keys.secretKey));
  writeKeyFiles(dir, "a", keys);
  const KeyPair read = loadKeyPair(dir + "/a.key");
  CHECK(read.publicKey == keys.publicKey);
  CHECK(read.secretKey == keys.secretKey);
  CHECK(loadPublicKey(dir + "/a.pub") == keys.publicKey);
  CHECK(loadPublicKey(dir + "/a.key") == keys.publicKey);  // a .key is a public key too
  CHECK_THROWS_WITH(loadKeyPair(dir + "/a.pub"), Catch::Contains("has no secret-key line"));
  CHECK_THROWS_WITH(writeKeyFiles(dir, "a", generateKeyPair()), Catch::Contains("exists already"));
  CHECK(loadAllowedKeys(dir) == std::set<std::string>{keys.publicKey});

  std::ofstream(dir + "/bad.pub") << "public-key = not a key\n";
  CHECK_THROWS_WITH(loadPublicKey(dir + "/bad.pub"),
                    Catch::Contains("is not a 40-character Z85 key"));
  CHECK_THROWS_AS(loadAllowedKeys(dir), ConfigError);
  CHECK_THROWS_WITH(loadPublicKey(dir + "/missing.pub"), Catch::Contains("cannot read key file"));
  CHECK_THROWS_WITH(loadAllowedKeys(dir + "/nowhere"),
                    Catch::Contains("cannot read the key directory"));
  std::filesystem::remove_all(dir);
}
