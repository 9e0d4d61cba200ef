// CookieJar: the cookies of one virtual user (RFC 6265, the parts load tests need).
//
// Stores what Set-Cookie headers say (name=value, Domain, Path, Max-Age, Expires,
// Secure) and builds the Cookie header for a request. Not thread-safe: owned by one
// Session, used from its user's coroutine only.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace loads::detail {

struct Url;

class CookieJar {
 public:
  // Applies one Set-Cookie header received from `from`; malformed ones are ignored.
  void store(const Url& from, std::string_view setCookie);
  // Appends "a=1; b=2" for the cookies matching the URL; false when none matched.
  bool header(const Url& to, std::string& out);
  // Value of a cookie visible to `host`, or "".
  std::string value(std::string_view host, std::string_view name) const;
  void clear() { cookies_.clear(); }
  bool empty() const { return cookies_.empty(); }

 private:
  using Clock = std::chrono::system_clock;
  struct Cookie {
    std::string name;
    std::string value;
    std::string domain;    // lower case, no leading dot
    std::string path;      // "/" by default
    bool hostOnly = true;  // no Domain attribute: this exact host only
    bool secure = false;
    bool expires = false;  // false: a session cookie
    Clock::time_point expiry;
  };
  static bool domainMatches(const Cookie& c, std::string_view host);
  void dropExpired();

  std::vector<Cookie> cookies_;
};

}  // namespace loads::detail
