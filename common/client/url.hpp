// Url: the parts of an absolute http(s) URL that a client needs, and URL encoding.
//
// Value type, no shared state. Parsing never throws: parseUrl returns false on input
// that is not an absolute http:// or https:// URL.
#pragma once

#include <string>
#include <string_view>

namespace loads::detail {

struct Url {
  bool tls = false;    // https
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // "80" / "443" unless given
  std::string target;  // path and query, never empty ("/" at least); no fragment

  std::string_view path() const;   // target without the query
  std::string origin() const;      // "http://host:port", the keep-alive key
  std::string hostHeader() const;  // host, plus ":port" when not the default
  std::string str() const;         // the full URL
};

// Parses an absolute http(s) URL; false when it is not one.
bool parseUrl(std::string_view text, Url& out);

// Why `text` cannot be a --server-url: "" when it is an absolute http://, https://,
// ws:// or wss:// URL with a host (and a numeric port, if any), else one phrase.
std::string serverUrlProblem(std::string_view text);

// Resolves a Location header against the URL it came from (absolute, "//host/x",
// "/x", "x", "?q"); false when the result is not a usable URL.
bool resolveLocation(const Url& base, std::string_view location, Url& out);

// Percent-encodes everything but RFC 3986 unreserved characters; appends to out.
void urlEncode(std::string_view text, std::string& out);

// Appends "name=value&..." (encoded) to out.
template <class Pairs>
void appendEncodedPairs(const Pairs& pairs, std::string& out) {
  bool first = true;
  for (const auto& [name, value] : pairs) {
    if (!first) out += '&';
    first = false;
    urlEncode(name, out);
    out += '=';
    urlEncode(value, out);
  }
}

}  // namespace loads::detail
