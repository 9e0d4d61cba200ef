// A master or agent facing a broker of another protocol version says so in one clear
// sentence and exits 3, instead of waiting for answers it cannot read.
#include <catch2/catch.hpp>
#include <thread>
#include <zmq.hpp>

#include "support/process.hpp"

using namespace loads::testing;

namespace {

// A "broker" that answers every message with a WELCOME of protocol version 2.
class FutureBroker {
 public:
  FutureBroker() {
    socket_.bind("tcp://127.0.0.1:*");
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { serve(); });
  }
  ~FutureBroker() {
    stop_ = true;
    thread_.join();
  }
  const std::string& endpoint() const { return endpoint_; }
  int answered() const { return answered_; }

 private:
  void serve() {
    // ["LOADS", 2, "WELCOME", []] in msgpack
    static const char kReply[] = "\x94\xa5LOADS\x02\xa7WELCOME\x90";
    const std::string reply(kReply, sizeof kReply - 1);
    while (!stop_) {
      zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      if (!(item.revents & ZMQ_POLLIN)) continue;
      zmq::message_t identity, body;
      if (!socket_.recv(identity) || !identity.more() || !socket_.recv(body)) continue;
      while (body.more()) socket_.recv(body);
      socket_.send(identity, zmq::send_flags::sndmore);
      socket_.send(zmq::buffer(reply), zmq::send_flags::none);
      ++answered_;
    }
  }
  zmq::context_t context_{1};
  zmq::socket_t socket_{context_, zmq::socket_type::router};
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> answered_{0};
};

}  // namespace

TEST_CASE("a master facing a broker of another protocol version exits 3 with one sentence") {
  FutureBroker broker;
  auto r = runCommand({built("master/loads-master"), "--broker", broker.endpoint(), "--agents", "1",
                       built("examples/blog/libblog.so"), "--quiet"},
                      std::chrono::seconds(30));
  INFO(r.out << r.err);
  CHECK(r.code == 3);
  CHECK(r.err.find("speaks another protocol") != std::string::npos);
  CHECK(r.err.find("version 2") != std::string::npos);
  CHECK(broker.answered() >= 1);
}

TEST_CASE("an agent facing a broker of another protocol version exits 3 and says why") {
  FutureBroker broker;
  auto r =
      runCommand({built("agent/loads-agent"), "--broker", broker.endpoint(), "--id", "version-test",
                  "--cache-dir", LOADS_BINARY_DIR "/test-output/version-cache"},
                 std::chrono::seconds(30));
  INFO(r.out << r.err);
  CHECK(r.code == 3);
  CHECK((r.out + r.err).find("speaks another protocol") != std::string::npos);
}
