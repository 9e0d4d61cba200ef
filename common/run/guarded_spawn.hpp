// spawnGuarded: asio::spawn with a stack of kCoroutineStackBytes whose lowest page is a
// guard page (PROT_NONE) while the coroutine runs, so test code that recurses too deep
// dies of a clean SIGSEGV (which the slave reports as a stack overflow) instead of
// writing over whatever lies below its stack. Boost 1.74's asio::spawn allocates stacks
// with malloc (no guard) and does not take an allocator: the coroutine protects a page
// of its own stack itself, and gives it back before the stack is freed.
//
// The guard is left out (the coroutine runs unguarded) when mprotect fails, e.g. beyond
// vm.max_map_count: each guard splits its stack's mapping in three.
#pragma once

#include <boost/asio/spawn.hpp>
#include <cstddef>
#include <utility>

namespace loads::detail {

inline constexpr std::size_t kCoroutineStackBytes = 256 * 1024;  // per user (lazily committed)

// Protects the lowest whole page at least kEntryMargin below the caller's frame within a
// stack of kCoroutineStackBytes; restores it on destruction (also on forced unwind).
class StackGuard {
 public:
  StackGuard();
  ~StackGuard();
  StackGuard(const StackGuard&) = delete;
  StackGuard& operator=(const StackGuard&) = delete;

 private:
  void* page_ = nullptr;
};

// `where`: what asio::spawn takes (an io_context, an executor, an executor binder).
template <class Where, class Function>
void spawnGuarded(Where&& where, Function&& function) {
  boost::asio::spawn(
      std::forward<Where>(where),
      [f = std::forward<Function>(function)](auto yield) mutable {
        StackGuard guard;  // on the stack spawn allocated with the size below, never another
        f(yield);
      },
      boost::coroutines::attributes(kCoroutineStackBytes));
}

}  // namespace loads::detail
