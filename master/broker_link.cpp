#include "master/broker_link.hpp"

namespace loads::master {

using namespace std::chrono_literals;

BrokerLink::BrokerLink(const std::string& endpoint, const security::KeyPair& key,
                       const std::string& brokerKey)
    : endpoint_(endpoint), secured_(!key.empty()), socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 500);
  // The broker's messages are small (PONG lists the fleet); a larger frame, from a
  // hostile or confused peer at this endpoint, ends the connection before it is buffered.
  socket_.set(zmq::sockopt::maxmsgsize,
              static_cast<std::int64_t>(proto::frameLimit(proto::kDefaultMaxMessageSize)));
  if (secured_) security::makeCurveClient(socket_, key, brokerKey);
  socket_.connect(endpoint);
}

std::optional<proto::Envelope> BrokerLink::receive(Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    zmq::poll(&item, 1, std::max(left, 0ms));
    if (!(item.revents & ZMQ_POLLIN)) return std::nullopt;
    zmq::message_t message;
    if (!socket_.recv(message, zmq::recv_flags::dontwait)) continue;
    lastHeard_ = Clock::now();
    auto envelope = proto::decodeEnvelope(message.to_string_view());
    if (envelope) return std::move(envelope.value());
    if (envelope.error() == proto::ErrorCode::kVersionMismatch) {
      throw std::runtime_error("the broker at " + endpoint_ + " speaks another protocol (" +
                               envelope.reason() +
                               "): run the same loads version on master, broker and agents");
    }
    std::cerr << "loads-master: malformed message from the broker dropped: " << envelope.reason()
              << std::endl;
  }
}

void BrokerLink::heartbeatIfDue() {
  if (Clock::now() - lastSent_ >= kHeartbeat) send(proto::Heartbeat{});
}

std::string BrokerLink::noAnswer() const {
  return "no broker answered at " + endpoint_ +
         (secured_ ? ": start loads-broker, pass --broker, or check that --broker-key is the "
                     "broker's key and that the broker allows this master's key (its log "
                     "names refused keys)"
                   : ": start loads-broker or pass --broker (a broker with keys also needs "
                     "--key and --broker-key)");
}

std::string errorText(const proto::Envelope& envelope) {
  auto error = proto::decodeBody<proto::Error>(envelope);
  return "the broker answered ERROR " +
         (error ? std::to_string(error->code) + ": " + error->text : envelope.typeName);
}

int reportError(const proto::Envelope& envelope) {
  std::cerr << "loads-master: " << errorText(envelope) << std::endl;
  return kInfraError;
}

}  // namespace loads::master
