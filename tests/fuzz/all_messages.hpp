// Every LOADS message type of proto/messages.hpp, as a list the fuzzers and the corpus
// generator walk. A message added to messages.hpp must be added here.
#pragma once

#include <tuple>

#include "proto/messages.hpp"

namespace loads::fuzz {

using AllMessages = std::tuple<proto::Run, proto::RunAccepted, proto::RunRefused, proto::AgentDone,
                               proto::AgentLost, proto::Stop, proto::Stopped, proto::Purge,
                               proto::Purged, proto::Ping, proto::Pong, proto::Heartbeat,
                               proto::Disconnect, proto::Error, proto::Hello, proto::Welcome,
                               proto::Job, proto::NeedLibrary, proto::JobEnded, proto::LibraryPart>;

// Calls f(T{}) for every message type T.
template <class F>
void forEachMessageType(F&& f) {
  std::apply([&](auto... message) { (f(message), ...); }, AllMessages{});
}

}  // namespace loads::fuzz
