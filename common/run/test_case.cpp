#include "loads/test_case.hpp"

#include <boost/asio/steady_timer.hpp>
#include <stdexcept>
#include <utility>

#include "run/current_user.hpp"
#include "run/user_context.hpp"

namespace loads {
namespace detail {

UserContext*& currentUser() {
  thread_local UserContext* user = nullptr;
  return user;
}

void raiseFailure(std::string_view what, std::string_view message,
                  const std::source_location& where) {
  std::string text(what);
  if (!message.empty())
    text = what.empty() ? std::string(message) : std::string(message) + " (" + text + ")";
  if (text.empty()) text = "fail()";
  throw AssertionFailure(std::move(text), where);
}

UserContext& requireCurrentUser() {
  UserContext* user = currentUser();
  if (user == nullptr) {
    throw std::logic_error("a loads::TestCase can only be created by the loads runner");
  }
  return *user;
}

}  // namespace detail

TestCase::TestCase()
    : user_(detail::requireCurrentUser()), session_(std::make_unique<Session>(user_)) {}

TestCase::~TestCase() = default;

std::string TestCase::serverUrl() const { return user_.settings.serverUrl; }

void TestCase::incrCounter(std::string_view name, std::int64_t by) {
  user_.result.incrCounter(user_.test, name, by, user_.status);
}

const LoadsStatus& TestCase::loadsStatus() const { return user_.status; }

void TestCase::sleep(std::chrono::nanoseconds duration) {
  boost::asio::steady_timer timer(user_.io, duration);
  std::size_t id = user_.onCancel([&timer] { timer.cancel(); });
  boost::system::error_code ec;
  timer.async_wait((*user_.yield)[ec]);
  user_.removeOnCancel(id);
  if (user_.cancelled) throw RequestError(ErrorKind::kCancelled, "the run stopped during sleep");
}

void TestCase::measure(std::string_view name, const std::function<void()>& fn) {
  measure(name, [&fn](Measurement&) { fn(); });
}

void TestCase::measure(std::string_view name, const std::function<void(Measurement&)>& fn) {
  Hit hit;
  hit.name = name;
  hit.url = name;
  hit.method = "MEASURE";
  hit.startedUs = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  const auto t0 = std::chrono::steady_clock::now();
  Measurement m;
  auto record = [&] {
    hit.elapsedUs =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    hit.error = m.error();
    hit.bytes = m.bytes();
    hit.plannedStartUs = std::exchange(user_.plannedStartUs, 0);
    user_.result.addHit(hit, user_.status);
  };
  if (user_.cancelled) {
    m.fail(ErrorKind::kCancelled);
    record();
    throw RequestError(ErrorKind::kCancelled, std::string(name) + ": the run stopped");
  }
  try {
    fn(m);
  } catch (const RequestError& e) {
    m.fail(e.kind());
    record();
    throw;
  } catch (...) {
    m.fail(ErrorKind::kOther);
    record();
    throw;
  }
  record();
}

void TestCase::assertTrue(bool condition, std::string_view message, std::source_location where) {
  if (!condition) detail::raiseFailure("assertTrue(false)", message, where);
}

void TestCase::assertFalse(bool condition, std::string_view message, std::source_location where) {
  if (condition) detail::raiseFailure("assertFalse(true)", message, where);
}

void TestCase::assertIn(std::string_view needle, std::string_view haystack,
                        std::string_view message, std::source_location where) {
  if (haystack.find(needle) == std::string_view::npos) {
    std::string shown(haystack.substr(0, 80));
    if (haystack.size() > 80) shown += "...";
    detail::raiseFailure(
        "assertIn(" + detail::repr(needle) + ", " + detail::repr(shown) + "): not found", message,
        where);
  }
}

void TestCase::fail(std::string_view message, std::source_location where) {
  detail::raiseFailure("", message, where);
}

void TestCase::skipTest(std::string_view reason) { throw SkipTest(std::string(reason)); }

}  // namespace loads
