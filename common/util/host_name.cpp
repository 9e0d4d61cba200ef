#include "util/host_name.hpp"

#include <unistd.h>

namespace loads {

std::string hostName() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "localhost";
  return name;
}

}  // namespace loads
