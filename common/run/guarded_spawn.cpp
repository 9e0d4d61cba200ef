#include "run/guarded_spawn.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

namespace loads::detail {
namespace {
// The coroutine's frames above the guard's constructor (entry trampolines, the lambda):
// the stack's top is at most this far above it. Generous: a too-low guard would protect
// memory below the stack that is not the coroutine's.
constexpr std::uintptr_t kEntryMargin = 16 * 1024;
}  // namespace

StackGuard::StackGuard() {
  const auto pageSize = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  char here = 0;
  const auto frame = reinterpret_cast<std::uintptr_t>(&here);
  // The stack is [top - size, top) with top - kEntryMargin <= frame < top, so its lowest
  // address is at least frame + kEntryMargin - size: the first whole page above that is ours.
  const std::uintptr_t lowest = frame + kEntryMargin - kCoroutineStackBytes;
  const std::uintptr_t page = (lowest + pageSize - 1) & ~(pageSize - 1);
  if (page + 2 * pageSize > frame) return;  // no room: unguarded
  if (::mprotect(reinterpret_cast<void*>(page), pageSize, PROT_NONE) == 0) {
    page_ = reinterpret_cast<void*>(page);
  }
}

StackGuard::~StackGuard() {
  if (page_)
    ::mprotect(page_, static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)), PROT_READ | PROT_WRITE);
}

}  // namespace loads::detail
