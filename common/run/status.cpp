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
