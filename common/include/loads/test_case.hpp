// TestCase: the base class of a load test, one instance per virtual user.
//
// The runner constructs one instance per user (in the user's coroutine, so the
// constructor may already use session(), e.g. to log in), then runs hits: setUp, the
// test method, tearDown. A failed assertion is recorded as a failure, any other
// exception as an error; neither stops the user. All calls are made from the user's
// coroutine only; a TestCase is not thread-safe and need not be.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <source_location>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "loads/session.hpp"
#include "loads/status.hpp"
#include "loads/version.hpp"
#include "loads/websocket.hpp"

namespace loads {

// Thrown by the assertions; the runner turns it into addFailure.
class AssertionFailure : public std::exception {
 public:
  AssertionFailure(std::string message, std::source_location where)
      : message_(std::move(message)), where_(where) {}
  const char* what() const noexcept override { return message_.c_str(); }
  const std::source_location& where() const { return where_; }

 private:
  std::string message_;
  std::source_location where_;
};

// Thrown by skipTest; the runner turns it into addSkip.
class SkipTest : public std::exception {
 public:
  explicit SkipTest(std::string reason) : reason_(std::move(reason)) {}
  const char* what() const noexcept override { return reason_.c_str(); }

 private:
  std::string reason_;
};

// What a measure() call may say about itself: the bytes it moved, and that it failed.
class Measurement {
 public:
  void setBytes(std::uint64_t bytes) { bytes_ = bytes; }  // reported as the hit's bytes; 0
  // The call failed (counted as a failed request with this error kind) even though it
  // returned normally.
  void fail(ErrorKind kind = ErrorKind::kOther) {
    error_ = kind == ErrorKind::kNone ? ErrorKind::kOther : kind;
  }
  std::uint64_t bytes() const { return bytes_; }
  ErrorKind error() const { return error_; }

 private:
  std::uint64_t bytes_ = 0;
  ErrorKind error_ = ErrorKind::kNone;
};

namespace detail {
template <class T>
std::string repr(const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    return "\"" + std::string(std::string_view(value)) + "\"";
  } else if constexpr (requires(std::ostream & os) { os << value; }) {
    std::ostringstream os;
    os << std::boolalpha << value;
    return os.str();
  } else {
    return "<value>";
  }
}
[[noreturn]] void raiseFailure(std::string_view what, std::string_view message,
                               const std::source_location& where);
}  // namespace detail

class TestCase {
 public:
  TestCase();
  virtual ~TestCase();
  TestCase(const TestCase&) = delete;
  TestCase& operator=(const TestCase&) = delete;

  virtual void setUp() {}
  virtual void tearDown() {}

  // The user's HTTP session (cookies and keep-alive connections persist across hits).
  Session& session() { return *session_; }
  // Base URL of the system under test: --server-url, unless a class overrides this.
  virtual std::string serverUrl() const;
  // Adds `by` to a custom counter, reported per test and in total.
  void incrCounter(std::string_view name, std::int64_t by = 1);
  // Hits, active users, current hit and current user.
  const LoadsStatus& loadsStatus() const;
  // Think time: suspends this user only; the thread goes on serving other users.
  void sleep(std::chrono::nanoseconds duration);
  // Opens a WebSocket (ws://, wss://, or a path against serverUrl()); see websocket.hpp.
  // The socket stays open across hits until closed or until the user ends.
  std::shared_ptr<WebSocket> createWs(std::string_view url, WsCallback onMessage = {},
                                      const WsOptions& options = {});

  // Times `fn` as one request named `name` (a database query, a gRPC call, a publish),
  // reported exactly like an HTTP request: counted, its latency in the histograms, a
  // failure when fn throws (error kind: a RequestError's, else kOther; the exception goes
  // on) or calls Measurement::fail, in every report, threshold and /metrics. In the open
  // model the first request of a hit is charged the lag from its planned start.
  void measure(std::string_view name, const std::function<void()>& fn);
  void measure(std::string_view name, const std::function<void(Measurement&)>& fn);

  // Assertions: on failure they record the expression, the values, file and line.
  void assertTrue(bool condition, std::string_view message = {},
                  std::source_location where = std::source_location::current());
  void assertFalse(bool condition, std::string_view message = {},
                   std::source_location where = std::source_location::current());
  template <class A, class B>
  void assertEqual(const A& actual, const B& expected, std::string_view message = {},
                   std::source_location where = std::source_location::current()) {
    if (!(actual == expected)) {
      detail::raiseFailure("assertEqual(" + detail::repr(actual) + ", " + detail::repr(expected) +
                               "): " + detail::repr(actual) + " != " + detail::repr(expected),
                           message, where);
    }
  }
  template <class A, class B>
  void assertNotEqual(const A& actual, const B& unexpected, std::string_view message = {},
                      std::source_location where = std::source_location::current()) {
    if (actual == unexpected) {
      detail::raiseFailure("assertNotEqual(" + detail::repr(actual) + ", " +
                               detail::repr(unexpected) + "): both are " + detail::repr(actual),
                           message, where);
    }
  }
  // Substring test: needle in haystack.
  void assertIn(std::string_view needle, std::string_view haystack, std::string_view message = {},
                std::source_location where = std::source_location::current());
  [[noreturn]] void fail(std::string_view message = {},
                         std::source_location where = std::source_location::current());
  [[noreturn]] void skipTest(std::string_view reason);

 private:
  detail::UserContext& user_;
  std::unique_ptr<Session> session_;
  detail::OwnedSockets sockets_;  // closed when the user ends
};

// ---- registration -------------------------------------------------------------------

// Bumped whenever a change to the public headers breaks binary compatibility.
inline constexpr int kAbiVersion = 3;  // 3: Response keeps its head as received

namespace detail {
using Factory = std::unique_ptr<TestCase> (*)();
using Method = void (*)(TestCase&);
struct TestMethod {
  std::string name;  // "test_home"
  Method call;
  std::uint32_t weight = 1;  // LOADS_WEIGHTED(test_home, 9): its share of the users; 1
};
// Registers a class and its test methods in libloads' registry (at library load).
struct Registration {
  Registration(const char* className, const char* methodNames, Factory factory,
               std::vector<Method> methods);
};
// Exported by every test library; the loader checks it before using the library.
struct LibraryStamp {
  int abiVersion;
  const char* loadsVersion;
};
}  // namespace detail
}  // namespace loads

#ifndef LOADS_BUILDING_LIBLOADS
// Every translation unit of a test library carries the stamp; the linker keeps one.
extern "C" __attribute__((visibility("default"),
                          used)) inline const ::loads::detail::LibraryStamp loads_library_stamp{
    ::loads::kAbiVersion, LOADS_VERSION};
#endif

#define LOADS_DETAIL_CAT_(a, b) a##b
#define LOADS_DETAIL_CAT(a, b) LOADS_DETAIL_CAT_(a, b)
#define LOADS_DETAIL_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, \
                            N, ...)                                                                \
  N
#define LOADS_DETAIL_NARGS(...) \
  LOADS_DETAIL_NARGS_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define LOADS_DETAIL_M(C, m) [](::loads::TestCase& t) { static_cast<C&>(t).m(); }
#define LOADS_DETAIL_E1(C, m) LOADS_DETAIL_M(C, m)
#define LOADS_DETAIL_E2(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E1(C, __VA_ARGS__)
#define LOADS_DETAIL_E3(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E2(C, __VA_ARGS__)
#define LOADS_DETAIL_E4(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E3(C, __VA_ARGS__)
#define LOADS_DETAIL_E5(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E4(C, __VA_ARGS__)
#define LOADS_DETAIL_E6(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E5(C, __VA_ARGS__)
#define LOADS_DETAIL_E7(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E6(C, __VA_ARGS__)
#define LOADS_DETAIL_E8(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E7(C, __VA_ARGS__)
#define LOADS_DETAIL_E9(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E8(C, __VA_ARGS__)
#define LOADS_DETAIL_E10(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E9(C, __VA_ARGS__)
#define LOADS_DETAIL_E11(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E10(C, __VA_ARGS__)
#define LOADS_DETAIL_E12(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E11(C, __VA_ARGS__)
#define LOADS_DETAIL_E13(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E12(C, __VA_ARGS__)
#define LOADS_DETAIL_E14(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E13(C, __VA_ARGS__)
#define LOADS_DETAIL_E15(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E14(C, __VA_ARGS__)
#define LOADS_DETAIL_E16(C, m, ...) LOADS_DETAIL_M(C, m), LOADS_DETAIL_E15(C, __VA_ARGS__)

// LOADS_TEST_CASE(Class, test_a, test_b, ...): registers Class and up to 16 of its test
// methods, and stamps the library with the loads ABI it was built against. Use it once
// per class, at namespace scope, in any source file of the test library. A method may be
// given a weight, LOADS_WEIGHTED(test_a, 9): users (and open-model arrivals) are dealt to
// the tests in proportion to their weights (default 1; docs/data.md "Weighted tests").
#define LOADS_WEIGHTED(method, weight) method
#define LOADS_TEST_CASE(Class, ...)                                                        \
  static const ::loads::detail::Registration LOADS_DETAIL_CAT(loads_registration_, Class)( \
      #Class, #__VA_ARGS__,                                                                \
      []() -> std::unique_ptr<::loads::TestCase> { return std::make_unique<Class>(); },    \
      {LOADS_DETAIL_CAT(LOADS_DETAIL_E, LOADS_DETAIL_NARGS(__VA_ARGS__))(Class, __VA_ARGS__)})
