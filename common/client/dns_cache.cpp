#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <mutex>
#include <unordered_map>

#include "loads/session.hpp"
#include "run/user_context.hpp"

namespace loads::detail {

namespace asio = boost::asio;
using asio::ip::tcp;

struct DnsCache::Impl {
  std::mutex mutex;
  std::unordered_map<std::string, std::vector<asio::ip::address>> addresses;  // by host
};

DnsCache::DnsCache() : impl_(std::make_unique<Impl>()) {}
DnsCache::~DnsCache() = default;

namespace {

DnsCache::Endpoints withPort(const std::vector<asio::ip::address>& addresses, unsigned short port) {
  DnsCache::Endpoints endpoints;
  endpoints.reserve(addresses.size());
  for (const auto& a : addresses) endpoints.emplace_back(a, port);
  return endpoints;
}

}  // namespace

DnsCache::Endpoints DnsCache::resolve(const std::string& host, const std::string& port,
                                      UserContext& user) {
  auto portNumber = static_cast<unsigned short>(std::stoul(port));
  boost::system::error_code ec;
  auto numeric = asio::ip::make_address(host, ec);
  if (!ec) return {tcp::endpoint(numeric, portNumber)};
  {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->addresses.find(host);
    if (it != impl_->addresses.end()) return withPort(it->second, portNumber);
  }

  tcp::resolver resolver(user.io);
  std::size_t cancelId = user.onCancel([&resolver] { resolver.cancel(); });
  auto results = resolver.async_resolve(host, port, (*user.yield)[ec]);
  user.removeOnCancel(cancelId);
  if (user.cancelled)
    throw RequestError(ErrorKind::kCancelled,
                       "resolving " + host + " was cancelled: the run stopped");
  if (ec || results.empty()) {
    throw RequestError(ErrorKind::kDns, "cannot resolve host name " + host + " (" +
                                            (ec ? ec.message() : std::string("no address")) + ")");
  }
  std::vector<asio::ip::address> found;
  for (const auto& entry : results) {
    const auto address = entry.endpoint().address();
    if (std::find(found.begin(), found.end(), address) == found.end()) found.push_back(address);
  }
  {
    std::lock_guard lock(impl_->mutex);
    impl_->addresses.emplace(host, found);
  }
  return withPort(found, portNumber);
}

}  // namespace loads::detail
