#include "support/raw_zmtp.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <stdexcept>
#include <string_view>

namespace loads::testing {
namespace {

void appendSize(std::string& out, std::uint64_t size, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((size >> (8 * i)) & 0xff));
}

std::uint64_t statusField(int pid, std::string_view field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(field, 0) == 0) return std::stoull(line.substr(field.size())) * 1024;  // kB
  }
  return 0;
}

}  // namespace

RawZmtpPeer::RawZmtpPeer(int port, const std::string& socketType) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  timeval timeout{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  // Greeting (64 bytes): signature, version 3.0, mechanism NULL, as-server 0, filler.
  std::string greeting("\xff\0\0\0\0\0\0\0\x01\x7f", 10);
  greeting += std::string("\x03\x00", 2);
  greeting += std::string("NULL", 4) + std::string(16, '\0');
  greeting += std::string(32, '\0');
  // READY command with the Socket-Type property.
  std::string ready("\x05READY", 6);
  ready.push_back(static_cast<char>(11));
  ready += "Socket-Type";
  appendSize(ready, socketType.size(), 4);
  ready += socketType;
  std::string command("\x04", 1);
  command.push_back(static_cast<char>(ready.size()));
  if (!sendAll(greeting.data(), greeting.size()) ||
      !sendAll((command + ready).data(), command.size() + ready.size())) {
    throw std::runtime_error("the ZMTP greeting was refused");
  }
  // Until its READY is sent, libzmq reads every frame as a handshake command: wait for
  // the other side's greeting and READY before sending messages.
  timeval receiveTimeout{10, 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &receiveTimeout, sizeof(receiveTimeout));
  char header[66];
  if (!receiveAll(header, sizeof(header)) || (header[64] & 0x04) == 0) {
    throw std::runtime_error("no ZMTP greeting and READY from the other side");
  }
  std::string body(static_cast<unsigned char>(header[65]), '\0');
  if (!receiveAll(body.data(), body.size())) throw std::runtime_error("truncated READY");
}

bool RawZmtpPeer::receiveAll(void* data, std::size_t size) {
  char* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t got = ::recv(fd_, p, size, 0);
    if (got <= 0) return false;
    p += got;
    size -= static_cast<std::size_t>(got);
  }
  return true;
}

RawZmtpPeer::~RawZmtpPeer() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawZmtpPeer::sendAll(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t sent = ::send(fd_, p, size, MSG_NOSIGNAL);
    if (sent <= 0) return false;
    p += sent;
    size -= static_cast<std::size_t>(sent);
  }
  return true;
}

bool RawZmtpPeer::sendFrame(const std::string& body, bool more) {
  std::string header(1, static_cast<char>(0x02 | (more ? 0x01 : 0x00)));  // LONG size
  appendSize(header, body.size(), 8);
  return sendAll(header.data(), header.size()) && sendAll(body.data(), body.size());
}

std::uint64_t floodUnfinished(int port, const std::string& socketType, std::uint64_t total,
                              std::size_t frameSize) {
  const std::string frame(frameSize, 'x');
  std::uint64_t sent = 0, closed = 0;
  while (sent < total) {
    RawZmtpPeer peer(port, socketType);
    while (sent < total && peer.sendFrame(frame, true)) sent += frameSize;
    if (sent < total) ++closed;
  }
  return closed;
}

std::uint64_t residentBytes(int pid) { return statusField(pid, "VmRSS:"); }
std::uint64_t peakResidentBytes(int pid) { return statusField(pid, "VmHWM:"); }

bool resetPeakResident(int pid) {
  std::ofstream clear("/proc/" + std::to_string(pid) + "/clear_refs");
  clear << "5";
  clear.flush();
  return static_cast<bool>(clear);
}

}  // namespace loads::testing
