// describeCrash: the parent's account of a slave that died of a signal, from what the
// slave's crash handler left in the EventRing (crash_handler.hpp): the signal, the test,
// user and hit of the crashing thread, and its stack with each frame named from the
// symbol table of its file (the test library's frames by their C++ names). The ring's
// contents come from a process that just crashed: every field is bounded and checked.
//
// Thread-safety: reentrant.
#pragma once

#include <map>
#include <string>

#include "proto/results.hpp"

namespace loads::agent {

class EventRing;

// `signal`: what killed the slave; `executable`: its binary (frames of the main program);
// `names`: file paths to show under another name (the agent's cached library → its name).
// `stopped`: the parent itself killed it (STOP grace): then it is no crash.
proto::CrashInfo describeCrash(const EventRing& ring, int signal, const std::string& executable,
                               const std::map<std::string, std::string>& names);

// The frames as text, one a line ("  #0 libcrash.so: Crash::test_null+0x1c"), for consoles.
std::string formatFrames(const proto::CrashInfo& crash, const std::string& indent);

}  // namespace loads::agent
