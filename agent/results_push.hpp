// The slave side of the results port (PROTOCOL.md §5.3): the PUSH socket both senders use,
// TestResultProxy and RingForwarder, set up and written to by the same rules.
#pragma once

#include <chrono>
#include <string>
#include <zmq.hpp>

#include "proto/messages.hpp"

namespace loads::agent {

// Sets `socket` up (a queue of `highWaterMark` messages, sends that time out after 100 ms,
// `linger` to deliver what is queued at close, CURVE with `curve` unless it is all "") and
// connects it to `endpoint`.
void connectResultsPush(zmq::socket_t& socket, const std::string& endpoint,
                        const proto::ResultsCurve& curve, int highWaterMark,
                        std::chrono::milliseconds linger);

// Sends `message`, trying again while the queue is full, for up to `patience`; false (and
// a warning naming `endpoint`) when it could not be handed over.
bool sendResults(zmq::socket_t& socket, const std::string& message, const std::string& endpoint,
                 std::chrono::milliseconds patience);

// Whether a close that took `took` (ending the context waits up to the linger until what
// the socket queued has left, and drops the rest) delivered everything: it returned before
// the linger ran out. ZeroMQ's timers read a clock of its own, cached to the millisecond:
// a linger that ran out can end a millisecond or two short of it by ours (299 ms of 300
// seen), so a close within 10 ms of the linger counts as one that ran out.
inline bool leftBeforeLinger(std::chrono::steady_clock::duration took,
                             std::chrono::milliseconds linger) {
  return took < linger - std::chrono::milliseconds(10);
}

}  // namespace loads::agent
