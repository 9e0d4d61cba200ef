#include "run/user_context.hpp"

#include <algorithm>

namespace loads::detail {

std::size_t UserContext::onCancel(std::function<void()> canceller) {
  std::size_t id = nextId_++;
  cancellers_.emplace_back(id, std::move(canceller));
  return id;
}

void UserContext::removeOnCancel(std::size_t id) {
  // The latest registration is usually the one removed: search from the back.
  auto it = std::find_if(cancellers_.rbegin(), cancellers_.rend(),
                         [id](const auto& entry) { return entry.first == id; });
  if (it != cancellers_.rend()) cancellers_.erase(std::next(it).base());
}

void UserContext::cancel() {
  cancelled = true;
  // A canceller only closes sockets or cancels timers (the completions are posted, not
  // run here), but it may still unregister something: work on a copy.
  auto pending = std::move(cancellers_);
  cancellers_.clear();
  for (auto& [id, canceller] : pending) canceller();
}

}  // namespace loads::detail
