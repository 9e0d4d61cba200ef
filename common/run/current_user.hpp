// The user whose coroutine is running on this thread, for TestCase's constructor.
#pragma once

namespace loads::detail {
struct UserContext;
// Set by the runner around constructing a TestCase; nullptr otherwise.
UserContext*& currentUser();
}  // namespace loads::detail
