#include "client/url.hpp"

namespace loads::detail {

namespace {

bool startsWithNoCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

bool isDigits(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Drops "." and ".." segments from a path that starts with "/".
std::string normalizePath(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  std::size_t i = 0;
  while (i < path.size()) {
    std::size_t j = path.find('/', i + 1);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);  // "/name"
    if (seg == "/.") {
      if (j == path.size()) out += '/';
    } else if (seg == "/..") {
      auto cut = out.rfind('/');
      out.resize(cut == std::string::npos ? 0 : cut);
      if (j == path.size()) out += '/';
    } else {
      out += seg;
    }
    i = j;
  }
  if (out.empty()) out.assign(1, '/');
  return out;
}

}  // namespace

std::string_view Url::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

// Host with brackets around an IPv6 literal.
static void appendHost(const std::string& host, std::string& out) {
  bool ipv6 = host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += host;
  if (ipv6) out += ']';
}

std::string Url::hostHeader() const {
  std::string h;
  appendHost(host, h);
  if (port != (tls ? "443" : "80")) {
    h += ':';
    h += port;
  }
  return h;
}

std::string Url::origin() const {
  std::string o = tls ? "https://" : "http://";
  appendHost(host, o);
  o += ':';
  o += port;
  return o;
}

std::string Url::str() const {
  std::string s = tls ? "https://" : "http://";
  s += hostHeader();
  s += target;
  return s;
}

bool parseUrl(std::string_view text, Url& out) {
  std::string_view rest;
  if (startsWithNoCase(text, "http://")) {
    out.tls = false;
    rest = text.substr(7);
  } else if (startsWithNoCase(text, "https://")) {
    out.tls = true;
    rest = text.substr(8);
  } else {
    return false;
  }
  rest = rest.substr(0, rest.find('#'));
  std::size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (auto at = authority.rfind('@'); at != std::string_view::npos) authority.remove_prefix(at + 1);

  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return false;
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return false;
  if (!port.empty() && !isDigits(port)) return false;

  out.host.assign(host);
  for (char& c : out.host)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  out.port = port.empty() ? (out.tls ? "443" : "80") : std::string(port);
  if (target.empty()) {
    out.target.assign(1, '/');
  } else if (target.front() == '?') {
    out.target.assign(1, '/');
    out.target += target;
  } else {
    out.target.assign(target);
  }
  return true;
}

std::string serverUrlProblem(std::string_view text) {
  std::string http(text);
  if (startsWithNoCase(text, "ws://")) {
    http = "http://" + std::string(text.substr(5));
  } else if (startsWithNoCase(text, "wss://")) {
    http = "https://" + std::string(text.substr(6));
  } else if (!startsWithNoCase(text, "http://") && !startsWithNoCase(text, "https://")) {
    return "it does not start with http://, https://, ws:// or wss://";
  }
  Url url;
  if (!parseUrl(http, url)) return "it has no host, or a port that is not a number";
  for (char c : url.host) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '\x7f')
      return "its host has a space or a control character";
  }
  return "";
}

bool resolveLocation(const Url& base, std::string_view location, Url& out) {
  location = location.substr(0, location.find('#'));
  if (startsWithNoCase(location, "http://") || startsWithNoCase(location, "https://"))
    return parseUrl(location, out);
  if (location.starts_with("//"))
    return parseUrl(std::string(base.tls ? "https:" : "http:") + std::string(location), out);
  out.tls = base.tls;
  out.host = base.host;
  out.port = base.port;
  if (location.empty()) {
    out.target = base.target;
    return true;
  }
  if (location.front() == '?') {
    out.target = std::string(base.path()) + std::string(location);
    return true;
  }
  std::string_view path = location.substr(0, location.find('?'));
  std::string_view query = location.substr(path.size());
  std::string joined;
  if (path.starts_with('/')) {
    joined.assign(path);
  } else {
    std::string_view basePath = base.path();
    joined.assign(basePath.substr(0, basePath.rfind('/') + 1));
    joined += path;
  }
  out.target = normalizePath(joined);
  out.target += query;
  return true;
}

void urlEncode(std::string_view text, std::string& out) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

}  // namespace loads::detail
