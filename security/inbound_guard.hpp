// InboundGuard: bounds what one TCP peer can make libzmq buffer on a bound socket.
//
// libzmq (4.3, and its master as of 2026) holds every frame of a multipart message in
// the connection's pipe until the last frame arrives: the pipe's high-water mark counts
// complete messages only (pipe.cpp check_hwm), and ZMQ_MAXMSGSIZE bounds one frame
// (v2_decoder.cpp size_ready). A raw ZMTP peer that sends frames with MORE and never a
// last one grows the process without bound (PROTOCOL.md §3, docs/reliability.md). No
// socket option bounds it, so the guard watches each accepted connection from outside:
//
//   held = bytes the kernel received on it (TCP_INFO) - bytes still unread in the kernel
//          (FIONREAD) - wire bytes of the frames the application received from it
//
// and shuts down the connection (shutdown(2)) when `held` is above `maxHeld` and nothing
// came out of the connection since the previous check. libzmq then drops the unfinished
// message (session_base.cpp clean_pipes, pipe rollback). Connections are learnt from the
// socket monitor (ZMQ_EVENT_ACCEPTED carries the fd), frames are tied to their connection
// by ZMQ_SRCFD.
//
// A check scans the connections (two system calls each) every kCheckInterval with up to
// 100 connections, less often with more (kScanCostPerConnection, at least once a second),
// and at once when the process grew by kScanGrowth (/proc/self/statm). Growth alone is no
// trigger: memory freed by a cut connection is reused by the next without growth, and
// the kernel counts no socket reads per process.
//
// Thread-safety: none; after construction only the thread that receives from the socket
// may call delivered() and check(). The socket and context must outlive the guard.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <zmq.hpp>

namespace loads::security {

class InboundGuard {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kCheckInterval{20};  // callers poll at most this long
  static constexpr std::chrono::microseconds kScanCostPerConnection{200};  // scan period share
  static constexpr std::size_t kScanGrowth = 8u << 20;  // resident growth that forces a scan

  // `socket` is a socket of `context` that will be bound after this (the guard must see
  // every accepted connection); `maxHeld` is the most one
  // connection may have buffered in an unfinished message (the frame limit plus slack);
  // `curve`: frames travel in CURVE MESSAGE boxes (33 bytes more each).
  InboundGuard(zmq::context_t& context, zmq::socket_t& socket, std::size_t maxHeld, bool curve,
               std::string name);
  InboundGuard(const InboundGuard&) = delete;
  InboundGuard& operator=(const InboundGuard&) = delete;

  // Every frame received from the socket (frames the socket made up itself, like a
  // ROUTER's routing id, carry no connection and are ignored).
  void delivered(const zmq::message_t& frame);
  // Call at least every kCheckInterval; does nothing more often than that.
  void check(Clock::time_point now = Clock::now());

  std::uint64_t connectionsCut() const { return cut_; }
  std::size_t connections() const { return connections_.size(); }

 private:
  struct Connection {
    std::uint64_t delivered = 0;        // wire bytes of the frames received from it
    std::uint64_t deliveredAtScan = 0;  // `delivered` at the previous scan
  };
  void readEvents();
  void scan();
  bool ours(int fd) const;  // still an accepted socket of our listening port

  zmq::socket_t& socket_;
  zmq::socket_t monitor_;
  std::size_t maxHeld_;
  bool curve_;
  std::string name_;
  std::map<int, Connection> connections_;  // by fd
  Clock::time_point nextCheck_{};
  Clock::time_point nextScan_{};
  std::size_t rssAtScan_ = 0;
  std::uint64_t cut_ = 0;
};

}  // namespace loads::security
