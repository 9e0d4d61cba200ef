#include "loads/status.hpp"

namespace loads {

std::string_view errorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kNone:
      return "none";
    case ErrorKind::kRefused:
      return "refused";
    case ErrorKind::kReset:
      return "reset";
    case ErrorKind::kTimeout:
      return "timeout";
    case ErrorKind::kDns:
      return "dns";
    case ErrorKind::kTls:
      return "tls";
    case ErrorKind::kProtocol:
      return "protocol";
    case ErrorKind::kCancelled:
      return "cancelled";
    case ErrorKind::kOther:
      return "other";
  }
  return "other";
}

}  // namespace loads

namespace loads {

std::string_view phaseName(Phase phase) {
  static constexpr std::string_view kNames[kPhaseCount] = {"dns",     "connecting", "tls",
                                                           "sending", "waiting",    "receiving"};
  const auto index = static_cast<std::size_t>(phase);
  return index < kPhaseCount ? kNames[index] : "unknown";
}

}  // namespace loads
