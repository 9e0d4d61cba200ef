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
// Sixteen positions at a time (SSE2 is part of x86-64; other machines and the last few
// bytes take memchr line by line): memchr per line took ~400 instructions on nginx's
// 240-byte head, glibc's memmem ~1,100.
inline std::size_t headEnd(std::string_view data) {
  const char* p = data.data();
  const char* const end = p + data.size();
#ifdef __SSE2__
  const __m128i cr = _mm_set1_epi8('\r'), lf = _mm_set1_epi8('\n');
  for (; end - p >= 19; p += 16) {  // positions p .. p+15, each with the 3 bytes after it
    auto at = [p](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k)); };
    const __m128i match =
        _mm_and_si128(_mm_and_si128(_mm_cmpeq_epi8(at(0), cr), _mm_cmpeq_epi8(at(1), lf)),
                      _mm_and_si128(_mm_cmpeq_epi8(at(2), cr), _mm_cmpeq_epi8(at(3), lf)));
    if (const auto bits = static_cast<unsigned>(_mm_movemask_epi8(match)))
      return static_cast<std::size_t>(p - data.data()) + __builtin_ctz(bits) + 4;
  }
#endif
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

// The CRs of [from, to) in order, the region checked sixteen bytes at a time as the
// CRs are asked for: text whose every LF follows a CR (no control but tab, CR and LF, no
// DEL, no bare LF; a bare CR is for the caller to find, where its line ends). One pass
// finds the line ends and checks the text, instead of a memchr and a check per line.
// The region must be 16 bytes or more (its last block is read overlapping the one
// before); SSE2 is part of x86-64, other machines take the plain loop.
class CrCursor {
 public:
  CrCursor(const char* from, const char* to) : next_(from), to_(to) {}

  // The next CR, or nullptr at the end of the region or at a byte that fails the check
  // (then bad() is true).
  [[gnu::always_inline]] const char* next() {
    while (crs_ == 0) {
      if (next_ == to_ || !scan()) return nullptr;
    }
    const char* cr = base_ + __builtin_ctz(crs_);
    crs_ &= crs_ - 1;
    return cr;
  }
  bool bad() const { return bad_; }

 private:
  // Checks the next block and notes its CRs.
  [[gnu::always_inline]] bool scan() {
    const auto left = static_cast<unsigned>(to_ - next_);
    const unsigned fresh = left >= 16 ? 0xffffu : (0xffffu << (16 - left)) & 0xffffu;
    base_ = left >= 16 ? next_ : to_ - 16;  // the last block overlaps the one before
    unsigned crs = 0, lfs = 0, badBytes = 0;
#ifdef __SSE2__
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(base_));
    const __m128i isLf = _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'));
    const __m128i isCr = _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'));
    const __m128i below = _mm_set1_epi8(0x1f);
    const __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, below), below);  // v <= 0x1f
    const __m128i allowed =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), isLf), isCr);
    badBytes = static_cast<unsigned>(_mm_movemask_epi8(
        _mm_or_si128(_mm_andnot_si128(allowed, control), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)))));
    crs = static_cast<unsigned>(_mm_movemask_epi8(isCr));
    lfs = static_cast<unsigned>(_mm_movemask_epi8(isLf));
#else
    for (unsigned i = 0; i < 16; ++i) {
      const auto c = static_cast<unsigned char>(base_[i]);
      crs |= unsigned{c == '\r'} << i;
      lfs |= unsigned{c == '\n'} << i;
      badBytes |= unsigned{(c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f} << i;
    }
#endif
    const unsigned afterCr = (crs << 1) | carry_;
    carry_ = crs >> 15;
    next_ = base_ + 16;
    if (((badBytes | (lfs & ~afterCr)) & fresh) != 0) {
      bad_ = true;
      return false;
    }
    crs_ = crs & fresh;
    return true;
  }

  const char* next_;  // the first byte not yet checked
  const char* const to_;
  const char* base_ = nullptr;  // the block crs_ is of
  unsigned crs_ = 0;            // its CRs not yet returned
  unsigned carry_ = 0;          // the byte before next_ is a CR (none before the region)
  bool bad_ = false;
};

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

// The field line [start, cr): its name and its value without the white space around
// it; false when it is no valid field line. *cr is a CR (which ends the name's scan).
[[gnu::always_inline]] inline bool splitField(const char* start, const char* cr,
                                              std::string_view& name, std::string_view& value) {
  const char* p = start;
  while (kToken[static_cast<unsigned char>(*p)]) ++p;
  if (p == start || *p != ':') return false;  // also obs-fold (a leading SP), no colon
  name = std::string_view(start, static_cast<std::size_t>(p - start));
  ++p;
  while (p < cr && (*p == ' ' || *p == '\t')) ++p;
  const char* to = cr;
  while (to > p && (to[-1] == ' ' || to[-1] == '\t')) --to;
  value = std::string_view(p, static_cast<std::size_t>(to - p));
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
  if (last - p < 16) return false;  // no room for a Content-Length field
  CrCursor crs(p, last);
  const char* cr = crs.next();  // the status line's
  if (!cr || cr[1] != '\n') return false;
  p = cr + 2;
  head.fieldsAt = static_cast<std::size_t>(p - data.data());
  bool lengthSeen = false, close = false;
  head.setCookie = false;
  std::string_view name, value;
  while ((cr = crs.next())) {
    if (cr[1] != '\n' || !splitField(p, cr, name, value)) return false;  // bare CR
    p = cr + 2;
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
  if (crs.bad() || p != last || !lengthSeen || head.contentLength > bodyLimit) return false;
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
  while (p < last) {
    const auto* cr =
        static_cast<const char*>(std::memchr(p, '\r', static_cast<std::size_t>(last - p)));
    if (!cr || !simple::splitField(p, cr, name, value) || !fn(name, value)) return;
    p = cr + 2;
  }
}

}  // namespace loads::detail
