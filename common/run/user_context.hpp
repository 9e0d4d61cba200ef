// UserContext: everything a virtual user's code needs from the runner.
//
// One per virtual user, owned by the runner and alive for the user's whole life; the
// TestCase and its Session keep a reference. Used only from the user's coroutine and
// from its runner thread (cancel() is posted to that thread).
#pragma once

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/spawn.hpp>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "loads/status.hpp"
#include "loads/test_result.hpp"
#include "run/guarded_spawn.hpp"

namespace loads::detail {

class DnsCache;

// A user coroutine's yield context, bound to its thread's io_context executor itself.
// asio::yield_context would wrap a strand in a type-erased executor: a mutex, reference
// counts and virtual calls on every resumption, for nothing, since one thread runs each
// io_context (bench/RESULTS.md, issue #13).
using Yield = boost::asio::basic_yield_context<
    boost::asio::executor_binder<void (*)(), boost::asio::io_context::executor_type>>;

inline void userCoroutineDone() {}

// Starts `function(Yield)` as a coroutine on `io` (asio::spawn without the strand).
// Its stack has a guard page (spawnGuarded).
template <class Function>
void spawnUser(boost::asio::io_context& io, Function&& function) {
  spawnGuarded(boost::asio::bind_executor(io.get_executor(), &userCoroutineDone),
               std::forward<Function>(function));
}

// Settings shared by every user of a run (read-only while the run goes).
struct UserSettings {
  std::string serverUrl;  // --server-url; default ""
  bool insecure = false;  // --insecure-skip-tls-verify: skip TLS verification
  std::chrono::milliseconds requestTimeout{30000};  // --timeout; default 30 s
};

struct UserContext {
  UserContext(boost::asio::io_context& io, TestResult& result, const UserSettings& settings,
              boost::asio::ssl::context& tls, DnsCache& dns)
      : io(io), result(result), settings(settings), tls(tls), dns(dns) {}

  boost::asio::io_context& io;  // the runner thread's io_context
  Yield* yield = nullptr;       // the user's coroutine while it runs
  TestResult& result;           // where every event goes
  const UserSettings& settings;
  boost::asio::ssl::context& tls;  // shared per runner thread (verification per settings)
  DnsCache& dns;                   // shared per run
  LoadsStatus status;              // updated by the runner before each hit
  std::string test;                // "Class.method" of the current hit
  bool cancelled = false;          // set when the run stops; I/O fails with kCancelled
  std::int64_t plannedStartUs =
      0;  // open model: the hit's planned start, taken by its first request

  // Objects with pending I/O register a canceller (closing sockets, cancelling timers);
  // cancel() calls them all. Registration returns an id to unregister with.
  std::size_t onCancel(std::function<void()> canceller);
  void removeOnCancel(std::size_t id);
  void cancel();

 private:
  std::vector<std::pair<std::size_t, std::function<void()>>> cancellers_;
  std::size_t nextId_ = 0;
};

// Host name → endpoints cache shared by all users of a run. Thread-safe.
class DnsCache {
 public:
  DnsCache();
  ~DnsCache();
  DnsCache(const DnsCache&) = delete;
  DnsCache& operator=(const DnsCache&) = delete;

  using Endpoints = std::vector<boost::asio::ip::tcp::endpoint>;
  // Resolves (yielding) on a miss; throws RequestError(kDns) when the name is unknown.
  Endpoints resolve(const std::string& host, const std::string& port, UserContext& user);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace loads::detail
