// A WebSocket test library for the end-to-end tests: every message sent must come back
// as its echo, exactly; the report's socket counts are then compared with the server's.
#include <cstdlib>
#include <loads/loads.hpp>
#include <string>

class Ws : public loads::TestCase {
 public:
  // One socket per user, opened on its first hit and kept for the next ones; the runner
  // closes it when the user ends.
  void test_echo() {
    if (!ws_ || !ws_->isOpen()) ws_ = createWs(serverUrl() + path());
    for (int i = 0; i < kMessages; ++i) {
      std::string text = "hello " + std::to_string(loadsStatus().currentUser) + "/" +
                         std::to_string(loadsStatus().currentHit) + "/" + std::to_string(i);
      ws_->send(text);
      auto echo = ws_->receive();
      assertTrue(echo.has_value(), "no echo in time");
      assertEqual(echo->data, text);
    }
  }
  // A socket per hit, binary messages, closed by the test itself.
  void test_binary() {
    auto ws = createWs(serverUrl() + path());
    std::string bytes("\x00\x01\x02\xff payload", 12);
    for (int i = 0; i < kMessages; ++i) {
      ws->sendBinary(bytes);
      auto echo = ws->receive();
      assertTrue(echo.has_value() && echo->binary, "no binary echo in time");
      assertEqual(echo->data.size(), bytes.size());
    }
    ws->close(1000, "done");
  }
  // Messages counted by the callback while the user thinks.
  void test_callback() {
    if (!ws_ || !ws_->isOpen()) {
      ws_ = createWs(serverUrl() + path(), [this](const loads::WsMessage&) {
        ++echoes_;
        return true;  // consumed: not queued for receive()
      });
    }
    int before = echoes_;
    for (int i = 0; i < kMessages; ++i) ws_->send("ping " + std::to_string(i));
    for (int waited = 0; echoes_ - before < kMessages && waited < 200; ++waited)
      sleep(std::chrono::milliseconds(10));
    assertEqual(echoes_ - before, kMessages, "echoes seen by the callback");
  }

 private:
  static constexpr int kMessages = 5;
  // The echo endpoint's path: $LOADS_WS_PATH ("/" for websocketd), default the
  // target's /ws/echo.
  static std::string path() {
    const char* p = std::getenv("LOADS_WS_PATH");
    return p ? p : "/ws/echo";
  }
  std::shared_ptr<loads::WebSocket> ws_;
  int echoes_ = 0;
};
LOADS_TEST_CASE(Ws, test_echo, test_binary, test_callback);
