// The inbound guard: per-connection accounting of unfinished multipart messages.
#include "security/inbound_guard.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace loads::security {
namespace {

std::size_t residentBytes() {
  std::FILE* file = std::fopen("/proc/self/statm", "r");
  if (!file) return 0;
  unsigned long size = 0, resident = 0;
  const int read = std::fscanf(file, "%lu %lu", &size, &resident);
  std::fclose(file);
  return read == 2 ? resident * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)) : 0;
}

// Bytes a frame of `size` took on the wire: ZMTP 3 header (1 flag byte, then 1 or 8 size
// bytes), inside a CURVE MESSAGE command (8 name + 8 nonce + 16 MAC + 1 flags) if secured.
std::uint64_t wireBytes(std::size_t size, bool curve) {
  const std::uint64_t body = size + (curve ? 33 : 0);
  return body + (body <= 255 ? 2 : 9);
}

int localPort(int fd) {
  sockaddr_storage address{};
  socklen_t length = sizeof(address);
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) return -1;
  if (address.ss_family == AF_INET)
    return ntohs(reinterpret_cast<sockaddr_in*>(&address)->sin_port);
  if (address.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<sockaddr_in6*>(&address)->sin6_port);
  return -1;
}

// Resets the connection (RST) without closing the fd, which stays libzmq's: its I/O thread
// sees the error, closes the fd and drops the unfinished message. shutdown(2) is not
// enough: a Linux socket shut for reading still takes the peer's data.
void abort(int fd) {
  sockaddr unspecified{};
  unspecified.sa_family = AF_UNSPEC;
  ::connect(fd, &unspecified, sizeof(unspecified));
}

}  // namespace

InboundGuard::InboundGuard(zmq::context_t& context, zmq::socket_t& socket, std::size_t maxHeld,
                           bool curve, std::string name)
    : socket_(socket),
      monitor_(context, zmq::socket_type::pair),
      maxHeld_(maxHeld),
      curve_(curve),
      name_(std::move(name)) {
  static std::atomic<unsigned> instances{0};
  const std::string endpoint = "inproc://loads-inbound-guard-" + std::to_string(++instances);
  if (zmq_socket_monitor(socket_.handle(), endpoint.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CLOSED) != 0) {
    throw zmq::error_t();
  }
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(endpoint);
}

// Monitor events: [uint16 event, uint32 fd] then the endpoint (libzmq 4.x format).
void InboundGuard::readEvents() {
  for (;;) {
    zmq::message_t header, address;
    if (!monitor_.recv(header, zmq::recv_flags::dontwait)) return;
    if (header.more()) (void)monitor_.recv(address, zmq::recv_flags::dontwait);
    if (header.size() < 6) continue;
    std::uint16_t event = 0;
    std::uint32_t fd = 0;
    std::memcpy(&event, header.data(), 2);
    std::memcpy(&fd, header.data<char>() + 2, 4);
    if (event == ZMQ_EVENT_ACCEPTED) {
      connections_[static_cast<int>(fd)] = Connection{};
    } else {
      connections_.erase(static_cast<int>(fd));
    }
  }
}

void InboundGuard::delivered(const zmq::message_t& frame) {
  const int fd = zmq_msg_get(frame.handle(), ZMQ_SRCFD);  // -1 for frames of no connection
  if (fd < 0) return;
  auto it = connections_.find(fd);
  if (it == connections_.end()) {  // its ACCEPTED may not have been read yet
    readEvents();
    it = connections_.find(fd);
    if (it == connections_.end()) return;  // a frame of a connection already closed
  }
  it->second.delivered += wireBytes(frame.size(), curve_);
}

void InboundGuard::check(Clock::time_point now) {
  if (now < nextCheck_) return;
  nextCheck_ = now + kCheckInterval;
  readEvents();
  const std::size_t rss = residentBytes();
  if (now < nextScan_ && rss < rssAtScan_ + kScanGrowth) return;
  nextScan_ =
      now + std::clamp(std::chrono::duration_cast<Clock::duration>(kScanCostPerConnection *
                                                                   connections_.size()),
                       Clock::duration(kCheckInterval), Clock::duration(std::chrono::seconds(1)));
  rssAtScan_ = rss;
  scan();
}

bool InboundGuard::ours(int fd) const {
  const std::string endpoint = socket_.get(zmq::sockopt::last_endpoint);
  const auto colon = endpoint.rfind(':');
  return colon != std::string::npos && localPort(fd) == std::atoi(endpoint.c_str() + colon + 1);
}

void InboundGuard::scan() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    const int fd = it->first;
    Connection& connection = it->second;
    tcp_info info{};
    socklen_t length = sizeof(info);
    int unread = 0;
    if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0 ||
        length < offsetof(tcp_info, tcpi_bytes_received) + sizeof(info.tcpi_bytes_received) ||
        ::ioctl(fd, FIONREAD, &unread) != 0) {
      ++it;  // not a TCP socket (ipc://), or closing: nothing to measure
      continue;
    }
    // tcpi_bytes_received and FIONREAD are read at two moments: bytes that arrive in
    // between make `unread` the larger, and must not wrap `taken` round to 2^64.
    if (static_cast<std::uint64_t>(unread) > info.tcpi_bytes_received) {
      ++it;
      continue;
    }
    const std::uint64_t taken = info.tcpi_bytes_received - static_cast<std::uint64_t>(unread);
    const std::uint64_t held = taken > connection.delivered ? taken - connection.delivered : 0;
    const bool stuck = connection.delivered == connection.deliveredAtScan;
    connection.deliveredAtScan = connection.delivered;
    if (held <= maxHeld_ || !stuck || !ours(fd)) {
      ++it;
      continue;
    }
    ++cut_;
    spdlog::warn(
        "{}: a peer sent {} bytes of a message it never finished (the limit is {}): "
        "connection closed",
        name_, held, maxHeld_);
    abort(fd);
    it = connections_.erase(it);
  }
}

}  // namespace loads::security
