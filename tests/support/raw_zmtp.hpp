// RawZmtpPeer: a hostile peer that speaks ZMTP 3.0 over a plain TCP socket, without
// libzmq, so that it can send what libzmq never sends (unfinished multipart messages).
// NULL mechanism only. Not thread-safe; every write is bounded by a send timeout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace loads::testing {

class RawZmtpPeer {
 public:
  // Connects to 127.0.0.1:port and greets as a `socketType` ("DEALER", "PUSH").
  RawZmtpPeer(int port, const std::string& socketType);
  ~RawZmtpPeer();
  RawZmtpPeer(const RawZmtpPeer&) = delete;
  RawZmtpPeer& operator=(const RawZmtpPeer&) = delete;

  // Sends one frame; false once the other side closed the connection (or 10 s passed).
  bool sendFrame(const std::string& body, bool more);

 private:
  bool sendAll(const void* data, std::size_t size);
  bool receiveAll(void* data, std::size_t size);
  int fd_ = -1;
};

// Sends `total` bytes in frames of `frameSize`, every one with MORE (a message that never
// ends), reconnecting whenever the peer closes the connection. Returns the connections
// the peer closed.
std::uint64_t floodUnfinished(int port, const std::string& socketType, std::uint64_t total,
                              std::size_t frameSize);

// Resident and peak resident memory of a process, bytes (/proc/PID/status VmRSS, VmHWM).
std::uint64_t residentBytes(int pid);
std::uint64_t peakResidentBytes(int pid);
// Resets the process's VmHWM to its VmRSS (/proc/PID/clear_refs "5"); false if refused.
bool resetPeakResident(int pid);

}  // namespace loads::testing
