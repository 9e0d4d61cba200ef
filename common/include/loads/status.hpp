// LoadsStatus and the plain records that travel through a TestResult.
//
// These are value types: cheap to copy, no ownership beyond their own strings. The
// string_view members of Hit and Failure point into storage owned by the caller for
// the duration of the TestResult call only; implementations that keep them copy them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace loads {

// Tells concurrent executions apart (as in the original loads' loads_status).
struct LoadsStatus {
  std::uint64_t hits = 0;         // hits each user runs in this cycle; 0 = until the duration ends
  std::uint32_t users = 0;        // users active in this runner right now
  std::uint64_t currentHit = 0;   // 1-based index of this user's hit in the cycle
  std::uint32_t currentUser = 0;  // 1-based id of the user, unique within the runner
};

// Why a request produced no HTTP status.
enum class ErrorKind : std::uint8_t {
  kNone = 0,   // a response arrived (any status)
  kRefused,    // connection refused
  kReset,      // connection reset or closed before a full response
  kTimeout,    // connect, write or read exceeded the timeout
  kDns,        // the host name did not resolve
  kTls,        // TLS handshake or certificate verification failed
  kProtocol,   // the peer did not speak HTTP (or WebSocket) correctly
  kCancelled,  // the run stopped while the request was in flight
  kOther,      // anything else
};
std::string_view errorKindName(ErrorKind kind);

// The phases of an HTTP request (k6's http_req_looking_up, _connecting,
// _tls_handshaking, _sending, _waiting, _receiving), in order.
enum class Phase : std::uint8_t { kDns = 0, kConnecting, kTls, kSending, kWaiting, kReceiving };
inline constexpr std::size_t kPhaseCount = 6;
// "dns", "connecting", "tls", "sending", "waiting", "receiving": the report's keys.
std::string_view phaseName(Phase phase);

// One request (HTTP request, WebSocket connect, or a TestCase::measure call) as seen by addHit.
struct Hit {
  std::string_view name;               // request name: "GET /path" unless the test named it
  std::string_view url;                // full URL requested
  std::string_view method;             // "GET", "POST", ... or "WS" for a WebSocket handshake
  int status = 0;                      // HTTP status; 0 when no response arrived
  ErrorKind error = ErrorKind::kNone;  // why status is 0
  std::int64_t startedUs = 0;          // wall clock at start, microseconds since the Unix epoch
  std::int64_t elapsedUs = 0;          // time to the complete response, microseconds
  std::uint64_t bytes = 0;             // response bytes received (headers and body)
  // Open model (--rate): wall clock of the hit's planned start, µs since the epoch, on
  // the first request of the hit (the lag between plan and start is charged to it);
  // 0 = no plan (closed model, or a later request of the hit).
  std::int64_t plannedStartUs = 0;
  // HTTP requests only: time spent in each phase, µs, indexed by Phase. A request on a
  // kept-alive connection spent 0 in DNS, connecting and TLS. false: no phases (a
  // measure() call, a WebSocket handshake, a request that failed).
  bool phased = false;
  std::array<std::int64_t, kPhaseCount> phaseUs{};
};

// A failed assertion (addFailure) or an unexpected exception (addError).
struct Failure {
  std::string_view type;     // "AssertionError", or the exception's type/what category
  std::string_view message;  // expression and values, or what()
  std::string_view file;     // source file of the assertion; empty for errors
  int line = 0;              // source line; 0 when unknown
};

// WebSocket events (socketOpen / socketMessage / socketClose).
enum class Direction : std::uint8_t { kSent = 0, kReceived = 1 };

struct SocketClose {
  int code = 0;             // close code (1000 normal); 0 when the socket failed
  std::string_view reason;  // close reason or error text
  bool clean = false;       // a close handshake completed
};

}  // namespace loads
