#include "client/cookie_jar.hpp"

#include <strings.h>
#include <time.h>

#include <algorithm>
#include <charconv>

#include "client/url.hpp"

namespace loads::detail {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool equalsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

// RFC 6265 §5.1.4 default-path: the request path up to its last "/".
std::string defaultPath(std::string_view path) {
  auto slash = path.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

bool pathMatches(std::string_view cookiePath, std::string_view requestPath) {
  if (!requestPath.starts_with(cookiePath)) return false;
  return requestPath.size() == cookiePath.size() || cookiePath.back() == '/' ||
         requestPath[cookiePath.size()] == '/';
}

// "Wed, 21 Oct 2015 07:28:00 GMT"; false when unparsable.
bool parseHttpDate(std::string_view text, std::chrono::system_clock::time_point& out) {
  std::string s(text);
  struct tm tm {};
  const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm);
  if (!end) end = strptime(s.c_str(), "%a, %d-%b-%Y %H:%M:%S", &tm);
  if (!end) return false;
  out = std::chrono::system_clock::from_time_t(timegm(&tm));
  return true;
}

}  // namespace

bool CookieJar::domainMatches(const Cookie& c, std::string_view host) {
  if (host == c.domain) return true;
  if (c.hostOnly) return false;
  return host.size() > c.domain.size() && host.ends_with(c.domain) &&
         host[host.size() - c.domain.size() - 1] == '.';
}

void CookieJar::dropExpired() {
  auto now = Clock::now();
  std::erase_if(cookies_, [&](const Cookie& c) { return c.expires && c.expiry <= now; });
}

void CookieJar::store(const Url& from, std::string_view setCookie) {
  std::string_view pair = setCookie.substr(0, setCookie.find(';'));
  auto eq = pair.find('=');
  if (eq == std::string_view::npos) return;
  Cookie c;
  c.name.assign(trim(pair.substr(0, eq)));
  if (c.name.empty()) return;
  c.value.assign(trim(pair.substr(eq + 1)));
  c.domain = from.host;
  c.path = defaultPath(from.path());

  bool haveMaxAge = false;
  std::string_view attrs =
      pair.size() < setCookie.size() ? setCookie.substr(pair.size() + 1) : std::string_view{};
  while (!attrs.empty()) {
    std::string_view attr = attrs.substr(0, attrs.find(';'));
    attrs.remove_prefix(std::min(attrs.size(), attr.size() + 1));
    auto aeq = attr.find('=');
    std::string_view key = trim(attr.substr(0, aeq));
    std::string_view val =
        aeq == std::string_view::npos ? std::string_view{} : trim(attr.substr(aeq + 1));
    if (equalsNoCase(key, "domain") && !val.empty()) {
      if (val.front() == '.') val.remove_prefix(1);
      std::string d = lower(val);
      Cookie probe;
      probe.domain = d;
      probe.hostOnly = false;
      if (!domainMatches(probe, from.host)) return;  // a foreign domain: reject the cookie
      c.domain = std::move(d);
      c.hostOnly = false;
    } else if (equalsNoCase(key, "path") && val.starts_with('/')) {
      c.path.assign(val);
    } else if (equalsNoCase(key, "secure")) {
      c.secure = true;
    } else if (equalsNoCase(key, "max-age")) {
      long long seconds = 0;
      auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), seconds);
      if (ec != std::errc() || p != val.data() + val.size()) continue;
      haveMaxAge = true;
      c.expires = true;
      c.expiry =
          seconds <= 0 ? Clock::time_point::min() : Clock::now() + std::chrono::seconds(seconds);
    } else if (equalsNoCase(key, "expires") && !haveMaxAge) {
      Clock::time_point when;
      if (parseHttpDate(val, when)) {
        c.expires = true;
        c.expiry = when;
      }
    }
  }

  auto same = std::find_if(cookies_.begin(), cookies_.end(), [&](const Cookie& o) {
    return o.name == c.name && o.domain == c.domain && o.path == c.path;
  });
  bool expired = c.expires && c.expiry <= Clock::now();
  if (same != cookies_.end()) {
    if (expired) {
      cookies_.erase(same);
    } else {
      *same = std::move(c);
    }
  } else if (!expired) {
    cookies_.push_back(std::move(c));
  }
}

bool CookieJar::header(const Url& to, std::string& out) {
  if (cookies_.empty()) return false;
  dropExpired();
  bool any = false;
  std::string_view path = to.path();
  for (const Cookie& c : cookies_) {
    if ((c.secure && !to.tls) || !domainMatches(c, to.host) || !pathMatches(c.path, path)) continue;
    if (any) out += "; ";
    out += c.name;
    out += '=';
    out += c.value;
    any = true;
  }
  return any;
}

std::string CookieJar::value(std::string_view host, std::string_view name) const {
  auto now = Clock::now();
  std::string h = lower(host);
  for (const Cookie& c : cookies_) {
    if (c.name == name && domainMatches(c, h) && !(c.expires && c.expiry <= now)) return c.value;
  }
  return {};
}

}  // namespace loads::detail
