#include "security/zap.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <zmq_addon.hpp>

namespace loads::security {
namespace {

std::string text(const zmq::message_t& m) { return {m.data<char>(), m.size()}; }

std::string z85(const zmq::message_t& key) {
  if (key.size() != 32) return "(not a CURVE key)";
  char out[41] = {};
  zmq_z85_encode(out, key.data<std::uint8_t>(), 32);
  return out;
}

}  // namespace

ZapAuthenticator::ZapAuthenticator(zmq::context_t& context)
    : handler_(context, zmq::socket_type::rep),
      pipeIn_(context, zmq::socket_type::pair),
      pipeOut_(context, zmq::socket_type::pair) {
  handler_.set(zmq::sockopt::linger, 0);
  handler_.bind("inproc://zeromq.zap.01");
  const std::string pipe =
      "inproc://zap-stop-" + std::to_string(reinterpret_cast<std::uintptr_t>(this));
  pipeIn_.bind(pipe);
  pipeOut_.connect(pipe);
  thread_ = std::thread([this] { run(); });
}

ZapAuthenticator::~ZapAuthenticator() {
  pipeOut_.send(zmq::str_buffer("$TERM"), zmq::send_flags::dontwait);
  thread_.join();
}

void ZapAuthenticator::allow(const std::string& domain, const std::set<std::string>& publicKeys) {
  std::lock_guard lock(mutex_);
  allowed_[domain].insert(publicKeys.begin(), publicKeys.end());
}

bool ZapAuthenticator::allowed(const std::string& domain, const std::string& publicKey) {
  std::lock_guard lock(mutex_);
  const auto it = allowed_.find(domain);
  return it != allowed_.end() && it->second.contains(publicKey);
}

void ZapAuthenticator::run() {
  zmq::pollitem_t items[] = {{pipeIn_.handle(), 0, ZMQ_POLLIN, 0},
                             {handler_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[0].revents & ZMQ_POLLIN) return;
    std::vector<zmq::message_t> request;
    if (!zmq::recv_multipart(handler_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
      continue;
    }
    answer(request);
  }
}

// RFC 27: [version, request-id, domain, address, identity, mechanism, credentials...]
// answered with [version, request-id, status-code, status-text, user-id, metadata].
void ZapAuthenticator::answer(std::vector<zmq::message_t>& request) {
  const bool wellFormed = request.size() >= 6 && text(request[0]) == "1.0";
  const std::string requestId = request.size() > 1 ? text(request[1]) : "";
  const std::string domain = wellFormed ? text(request[2]) : "";
  const std::string mechanism = wellFormed ? text(request[5]) : "";
  const std::string key =
      wellFormed && mechanism == "CURVE" && request.size() >= 7 ? z85(request[6]) : "";
  const bool ok = !key.empty() && allowed(domain, key);
  if (!ok) {
    const std::uint64_t count = ++refusals_;
    spdlog::warn("refused {} client key {} on {} from {} (refusal #{}): it is not an allowed key",
                 mechanism.empty() ? "a" : mechanism, key.empty() ? "(none)" : key,
                 domain.empty() ? "(no domain)" : domain,
                 wellFormed ? text(request[3]) : "(unknown)", count);
  }
  std::array<zmq::const_buffer, 6> reply{
      zmq::str_buffer("1.0"),
      zmq::buffer(requestId),
      ok ? zmq::str_buffer("200") : zmq::str_buffer("400"),
      ok ? zmq::str_buffer("OK") : zmq::str_buffer("key not allowed"),
      ok ? zmq::buffer(key) : zmq::str_buffer(""),
      zmq::str_buffer("")};
  zmq::send_multipart(handler_, reply, zmq::send_flags::dontwait);
}

}  // namespace loads::security
