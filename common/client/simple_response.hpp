// parseSimpleHead: the head of the common response, read without Beast's parser.
//
// Beast's basic_parser spent ~4,500 instructions on an nginx response's 8 header fields,
// a quarter of a hit in the slave (callgrind, bench/RESULTS.md, issue #13). Most
// responses a load test reads are of one simple kind: HTTP/1.1, a status with a body, a
// Content-Length and no Transfer-Encoding. This reads that kind in one pass; anything
// else, or anything it is not sure of (a byte outside the RFC 9110 token or field-value
// sets, obs-fold, a second Content-Length, a head over the limit), returns false and the
// Session reads the response with Beast's parser as before, from the same bytes, so
// unusual and malformed responses keep Beast's behaviour and errors.
//
// Stateless and thread-safe. Included only by session.cpp and its test.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace loads::detail {

struct SimpleHead {
  int status = 0;
  std::size_t bytes = 0;  // of the head, its blank line included
  std::uint64_t contentLength = 0;
  bool keepAlive = true;  // no "Connection: close"
};

// Where the head in `data` ends (after its blank line); 0 while it is incomplete.
// memchr line by line: glibc's memmem took ~1,100 instructions on a 250-byte head.
inline std::size_t headEnd(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
  while (p + 4 <= end) {
    const auto* cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(end - p)));
    if (!cr || cr + 4 > end) return 0;
    if (cr[1] == '\n' && cr[2] == '\r' && cr[3] == '\n')
      return static_cast<std::size_t>(cr + 4 - data.data());
    p = cr + 1;
  }
  return 0;
}

namespace simple {

inline constexpr auto kToken = [] {  // RFC 9110 tchar
  std::array<unsigned char, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = t[c - 'a' + 'A'] = 1;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = 1;
  return t;
}();

// Whether [from, to) is a token (not empty).
inline bool isToken(const char* from, const char* to) {
  unsigned char all = from < to;
  for (const char* p = from; p < to; ++p) all &= kToken[static_cast<unsigned char>(*p)];
  return all != 0;
}

// Whether [from, to) are all field-value bytes: visible, obs-text, space and tab (no CR,
// LF, NUL or other controls). Branch-free, so that the compiler vectorises it.
inline bool allValueBytes(const char* from, const char* to) {
  // Eight bytes at a time: a byte below 0x20 or equal to 0x7f sets its high bit in
  // `flagged` (the classic has-less / has-zero tricks); such a word is checked byte by
  // byte, since a tab is allowed.
  constexpr std::uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
  auto flagged = [&](const char* at) {
    std::uint64_t w;
    std::memcpy(&w, at, 8);
    const std::uint64_t del = w ^ (0x7f * kOnes);
    return (((w - 0x20 * kOnes) & ~w) | ((del - kOnes) & ~del)) & kHigh;
  };
  const char* p = from;
  while (p + 8 <= to && !flagged(p)) p += 8;
  // Every word clean: the tail's last eight bytes (overlapping) settle the rest.
  if (p + 8 > to && to - from >= 8 && !flagged(to - 8)) return true;
  unsigned bad = 0;
  for (; p < to; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    bad |= static_cast<unsigned>(c < 0x20 && c != '\t') | static_cast<unsigned>(c == 0x7f);
  }
  return bad == 0;
}

// The CR of the line that starts at `from` (before `last`), or nullptr.
inline const char* lineEnd(const char* from, const char* last) {
  return static_cast<const char*>(std::memchr(from, '\r', static_cast<std::size_t>(last - from)));
}

inline bool equalsLower(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// Whether a Connection value lists the token "close".
inline bool listsClose(std::string_view value) {
  while (!value.empty()) {
    const std::size_t comma = value.find(',');
    std::string_view item = value.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (equalsLower(item, "close")) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace simple

// Reads the head that ends at `end` (headEnd) into `head` and `headers` when it is of the
// simple kind with a body of at most `bodyLimit`; false otherwise (`headers` then holds
// what it had).
inline bool parseSimpleHead(std::string_view data, std::size_t end, std::uint64_t bodyLimit,
                            SimpleHead& head,
                            std::vector<std::pair<std::string, std::string>>& headers) {
  using namespace simple;
  // "HTTP/1.1 200 OK\r\n": the reason phrase may be empty.
  if (end < 17 || data.compare(0, 9, "HTTP/1.1 ") != 0) return false;
  const char* p = data.data() + 9;
  const char* const last = data.data() + end - 2;  // the blank line's CRLF
  if (p[0] < '1' || p[0] > '9' || p[1] < '0' || p[1] > '9' || p[2] < '0' || p[2] > '9' ||
      p[3] != ' ') {
    return false;
  }
  head.status = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
  if (head.status < 200 || head.status == 204 || head.status == 304) return false;  // no body
  p += 4;
  const char* cr = lineEnd(p, last);
  if (!cr || cr[1] != '\n' || !allValueBytes(p, cr)) return false;
  p = cr + 2;
  const std::size_t had = headers.size();
  bool lengthSeen = false;
  head.keepAlive = true;
  while (p < last) {
    const char* name = p;
    p = static_cast<const char*>(std::memchr(p, ':', static_cast<std::size_t>(last - p)));
    if (!p || !isToken(name, p)) {  // also obs-fold (a line starting with SP)
      p = nullptr;
      break;
    }
    const std::string_view fieldName(name, static_cast<std::size_t>(p - name));
    ++p;
    while (p < last && (*p == ' ' || *p == '\t')) ++p;
    const char* value = p;
    p = lineEnd(p, last);
    if (!p || p[1] != '\n' || !allValueBytes(value, p)) {
      p = nullptr;
      break;
    }
    const char* valueEnd = p;
    while (valueEnd > value && (valueEnd[-1] == ' ' || valueEnd[-1] == '\t')) --valueEnd;
    const std::string_view fieldValue(value, static_cast<std::size_t>(valueEnd - value));
    p += 2;
    if (fieldName.size() == 14 && equalsLower(fieldName, "content-length")) {
      if (lengthSeen || fieldValue.empty() || fieldValue.size() > 18) {
        p = nullptr;  // Beast's to refuse or to read
        break;
      }
      std::uint64_t n = 0;
      bool digits = true;
      for (char c : fieldValue) {
        digits = digits && c >= '0' && c <= '9';
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
      }
      if (!digits) {
        p = nullptr;
        break;
      }
      head.contentLength = n;
      lengthSeen = true;
    } else if (fieldName.size() == 17 && equalsLower(fieldName, "transfer-encoding")) {
      p = nullptr;
      break;
    } else if (fieldName.size() == 10 && equalsLower(fieldName, "connection")) {
      if (listsClose(fieldValue)) head.keepAlive = false;
    }
    headers.emplace_back(std::piecewise_construct, std::forward_as_tuple(fieldName),
                         std::forward_as_tuple(fieldValue));
  }
  if (p != last || !lengthSeen || head.contentLength > bodyLimit) {
    headers.resize(had);
    return false;
  }
  head.bytes = end;
  return true;
}

}  // namespace loads::detail
