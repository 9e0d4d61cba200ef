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
// It builds no strings: the Response keeps the accepted head's field lines as they came
// (one string) and forEachField() reads them when the test asks for a header.
//
// Stateless and thread-safe. Included only by session.cpp and its test.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

namespace loads::detail {

struct SimpleHead {
  int status = 0;
  std::size_t bytes = 0;        // of the head, its blank line included
  std::size_t fieldsAt = 0;     // where its field lines start (after the status line) ...
  std::size_t fieldsBytes = 0;  // ... and their bytes, each line's CRLF included
  std::uint64_t contentLength = 0;
  bool keepAlive = true;   // no "Connection: close"
  bool setCookie = false;  // a Set-Cookie field is among them
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

// Whether [from, to) is text whose every LF follows a CR: no control but tab, CR and LF,
// no DEL, no bare LF (a bare CR is found where its line ends). One pass over the whole
// head instead of one per field, sixteen bytes at a time (SSE2 is part of x86-64; other
// machines take the plain loop).
inline bool textWithCrLf(const char* from, const char* to) {
  const char* p = from;
  unsigned afterCr = 0;  // the byte before p is a CR
#ifdef __SSE2__
  const __m128i tab = _mm_set1_epi8('\t'), lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
  const __m128i below = _mm_set1_epi8(0x1f), del = _mm_set1_epi8(0x7f);
  for (; to - p >= 16; p += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i isLf = _mm_cmpeq_epi8(v, lf), isCr = _mm_cmpeq_epi8(v, cr);
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, below), below);  // v <= 0x1f
    const __m128i allowed = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, tab), isLf), isCr);
    const __m128i bad = _mm_or_si128(_mm_andnot_si128(allowed, control), _mm_cmpeq_epi8(v, del));
    const auto crs = static_cast<unsigned>(_mm_movemask_epi8(isCr));
    const auto lfs = static_cast<unsigned>(_mm_movemask_epi8(isLf));
    if (_mm_movemask_epi8(bad) != 0 || (lfs & ~((crs << 1) | afterCr)) != 0) return false;
    afterCr = crs >> 15;
  }
#endif
  for (; p < to; ++p) {
    const auto c = static_cast<unsigned char>(*p);
    if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) return false;
    if (c == '\n' && !afterCr) return false;
    afterCr = c == '\r';
  }
  return true;
}

inline bool equalsLower(std::string_view name, std::string_view lower) {
  if (name.size() != lower.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if ((name[i] | 0x20) != lower[i]) return false;
  }
  return true;
}

// Reads a Connection value as Beast does: tokens, with commas and white space between
// (empty elements allowed). False when it is no such list; else `close` is set when
// "close" is among the tokens.
inline bool readConnection(std::string_view value, bool& close) {
  const char* p = value.data();
  const char* const end = p + value.size();
  bool needComma = false;
  while (p < end) {
    if (*p == ' ' || *p == '\t') {
      ++p;
    } else if (*p == ',') {
      needComma = false;
      ++p;
    } else {
      if (needComma || !kToken[static_cast<unsigned char>(*p)]) return false;
      const char* const token = p;
      while (p < end && kToken[static_cast<unsigned char>(*p)]) ++p;
      close = close ||
              equalsLower(std::string_view(token, static_cast<std::size_t>(p - token)), "close");
      needComma = true;
    }
  }
  return true;
}

// One field line from `p` (before `last`): its name, its value without the white space
// around it, and the start of the next line; false when the line is no valid field
// line. The bytes have passed textWithCrLf.
[[gnu::always_inline]] inline bool fieldLine(const char*& p, const char* last,
                                             std::string_view& name, std::string_view& value) {
  const char* const start = p;
  while (p < last && kToken[static_cast<unsigned char>(*p)]) ++p;
  if (p == start || p == last || *p != ':') return false;  // also obs-fold (a leading SP)
  name = std::string_view(start, static_cast<std::size_t>(p - start));
  ++p;
  while (p < last && (*p == ' ' || *p == '\t')) ++p;
  const char* const from = p;
  p = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(last - p)));
  if (!p || p[1] != '\n') return false;  // a bare CR
  const char* to = p;
  while (to > from && (to[-1] == ' ' || to[-1] == '\t')) --to;
  value = std::string_view(from, static_cast<std::size_t>(to - from));
  p += 2;
  return true;
}

}  // namespace simple

// Reads the head that ends at `end` (headEnd) into `head` when it is of the simple kind
// with a body of at most `bodyLimit`; false otherwise.
inline bool parseSimpleHead(std::string_view data, std::size_t end, std::uint64_t bodyLimit,
                            SimpleHead& head) {
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
  if (!textWithCrLf(p, last)) return false;
  p = static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(last - p)));
  if (!p || p[1] != '\n') return false;
  p += 2;
  head.fieldsAt = static_cast<std::size_t>(p - data.data());
  bool lengthSeen = false, close = false;
  head.setCookie = false;
  std::string_view name, value;
  while (p < last) {
    if (!fieldLine(p, last, name, value)) return false;
    switch (name.size()) {
      case 14:
        if (!equalsLower(name, "content-length")) break;
        if (lengthSeen || value.empty() || value.size() > 18) return false;  // Beast's to judge
        head.contentLength = 0;
        for (char c : value) {
          if (c < '0' || c > '9') return false;
          head.contentLength = head.contentLength * 10 + static_cast<std::uint64_t>(c - '0');
        }
        lengthSeen = true;
        break;
      case 17:
        if (equalsLower(name, "transfer-encoding")) return false;
        break;
      case 10:
      case 16:  // Beast reads Proxy-Connection as Connection
        if (equalsLower(name, "connection") || equalsLower(name, "proxy-connection")) {
          if (!readConnection(value, close)) return false;  // Beast's to refuse
        } else if (equalsLower(name, "set-cookie")) {
          head.setCookie = true;
        }
        break;
      default:
        break;
    }
  }
  if (p != last || !lengthSeen || head.contentLength > bodyLimit) return false;
  head.fieldsBytes = static_cast<std::size_t>(last - data.data()) - head.fieldsAt;
  head.keepAlive = !close;
  head.bytes = end;
  return true;
}

// Calls fn(name, value) for each field line of a head parseSimpleHead accepted (the
// SimpleHead's fields), in order, while it returns true.
template <class Fn>
void forEachField(std::string_view fields, Fn&& fn) {
  const char* p = fields.data();
  const char* const last = p + fields.size();
  std::string_view name, value;
  while (p < last && simple::fieldLine(p, last, name, value) && fn(name, value)) {
  }
}

}  // namespace loads::detail
