// Session: the HTTP client of one virtual user.
//
// Synchronous-looking calls that yield the user's coroutine while waiting, so a runner
// thread serves thousands of users. Keeps keep-alive connections (HTTP and HTTPS) and
// cookies for its user, follows redirects, and reports every request to the TestResult
// with addHit. A request that gets no response (refused, reset, timeout, ...) is a hit
// with status 0 and raises RequestError into the test.
//
// Thread-safety: a Session belongs to one user and is used from that user's coroutine
// only. It is owned by the TestCase.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "loads/status.hpp"

namespace loads {

namespace detail {
struct UserContext;
}

using Headers = std::vector<std::pair<std::string, std::string>>;
using Params = std::vector<std::pair<std::string, std::string>>;

// A request body and its content type.
struct Body {
  std::string contentType;  // sent as Content-Type unless empty
  std::string data;         // raw bytes
};
Body raw(std::string data, std::string contentType = "application/octet-stream");
Body json(const nlohmann::json& value);  // application/json
Body form(const Params& fields);         // application/x-www-form-urlencoded

struct RequestOptions {
  Headers headers;                                   // added to the session's defaults
  Params params;                                     // appended to the URL's query
  std::optional<std::chrono::milliseconds> timeout;  // default: the session's timeout
  std::optional<bool> followRedirects;               // default: the session's setting
  std::string name;  // request name in the report; default "METHOD /path" (no query)
};

// Thread-safety: like a std::string, except that the first headers() call fills the list
// (see there): a Response read from two threads at once needs a lock around that call.
class Response {
 public:
  int status() const { return status_; }
  bool ok() const { return status_ >= 200 && status_ < 400; }
  const std::string& body() const { return body_; }
  nlohmann::json json() const { return nlohmann::json::parse(body_); }
  // First header with this name (case-insensitive), or "" if absent.
  std::string header(std::string_view name) const;
  // Every header field in the order received. The first call builds the list: the common
  // response keeps its head as it came, and most tests never ask for the whole list.
  const Headers& headers() const;
  std::chrono::microseconds elapsed() const { return elapsed_; }  // of the final exchange
  const std::string& url() const;                                 // final URL after redirects

 private:
  friend class Session;
  int status_ = 0;
  std::string fields_;       // the head's field lines as received, when read without Beast
  mutable Headers headers_;  // from Beast's parser, or built from fields_ on first use
  std::string body_;
  std::chrono::microseconds elapsed_{0};
  std::shared_ptr<const std::string> url_;  // shared with the session's parse of the URL
};

// Raised into the test when a request got no HTTP response.
class RequestError : public std::runtime_error {
 public:
  RequestError(ErrorKind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

class Session {
 public:
  explicit Session(detail::UserContext& user);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  Response get(std::string_view url, const RequestOptions& options = {});
  Response head(std::string_view url, const RequestOptions& options = {});
  Response options(std::string_view url, const RequestOptions& options = {});
  Response del(std::string_view url, const RequestOptions& options = {});
  Response post(std::string_view url, const Body& body, const RequestOptions& options = {});
  Response put(std::string_view url, const Body& body, const RequestOptions& options = {});
  Response patch(std::string_view url, const Body& body, const RequestOptions& options = {});
  Response request(std::string_view method, std::string_view url, const Body* body,
                   const RequestOptions& options);

  // Defaults for every request of this session.
  Headers& headers() { return headers_; }                              // default: none
  void setTimeout(std::chrono::milliseconds t) { timeout_ = t; }       // default: 30 s
  void setFollowRedirects(bool follow) { followRedirects_ = follow; }  // default: true
  void setMaxRedirects(int n) { maxRedirects_ = n; }                   // default: 10
  // Cookie value for a host ("" if none); cookies are kept per user.
  std::string cookie(std::string_view host, std::string_view name) const;
  void clearCookies();
  // Closes every kept connection (the next request reconnects).
  void closeConnections();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  Headers headers_;
  std::chrono::milliseconds timeout_{30000};
  bool followRedirects_ = true;
  int maxRedirects_ = 10;
};

}  // namespace loads
