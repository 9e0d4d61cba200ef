#include "proto/event_scan.hpp"

#include <algorithm>
#include <cstring>

namespace loads::proto::detail {

namespace {

std::uint64_t bigEndian(const unsigned char* p, std::size_t bytes) {
  switch (bytes) {
    case 1:
      return p[0];
    case 2: {
      std::uint16_t v;
      std::memcpy(&v, p, 2);
      return __builtin_bswap16(v);
    }
    case 4: {
      std::uint32_t v;
      std::memcpy(&v, p, 4);
      return __builtin_bswap32(v);
    }
    default: {
      std::uint64_t v;
      std::memcpy(&v, p, 8);
      return __builtin_bswap64(v);
    }
  }
}

}  // namespace

bool EventScanner::array(std::uint32_t& elements) {
  if (!need(1)) return false;
  const unsigned char b = *at_;
  std::size_t header = 1;
  if ((b & 0xf0) == 0x90) {
    elements = b & 0x0f;
  } else if (b == 0xdc || b == 0xdd) {
    header = b == 0xdc ? 3 : 5;
    if (!need(header)) return false;
    elements = static_cast<std::uint32_t>(bigEndian(at_ + 1, header - 1));
  } else {
    return false;
  }
  values_ += elements;
  if (elements > limits_.maxArray || values_ > limits_.maxObjects) return false;
  at_ += header;
  return true;
}

namespace {

enum class Fast { kRead, kShort, kOther };

// The formats a sender of this version packs (positive fixint, fixstr, uint 8-64), read
// from `at` (moved past it) before `end`; kShort when the bytes end first, kOther for
// every other format (EventScanner::scalarSlow()). Callers keep `at` and `end` in
// locals: as members they would be stored and loaded again around every store into the
// ScanValue (its type is a byte, which may alias them).
[[gnu::always_inline]] inline Fast readFast(const unsigned char*& at, const unsigned char* end,
                                            ScanValue& v) {
  if (at == end) return Fast::kShort;
  const unsigned char b = *at;
  if (b <= 0x7f) {
    v.type = ScanValue::kUint;
    v.bits = b;
    ++at;
    return Fast::kRead;
  }
  if (b >= 0xa0 && b <= 0xbf) {
    const std::size_t n = b & 0x1f;
    if (static_cast<std::size_t>(end - at) < 1 + n) return Fast::kShort;
    v.type = ScanValue::kStr;
    v.str = reinterpret_cast<const char*>(at + 1);
    v.size = static_cast<std::uint32_t>(n);
    at += 1 + n;
    return Fast::kRead;
  }
  if (b >= 0xcc && b <= 0xcf) {
    const std::size_t n = std::size_t{1} << (b - 0xcc);
    if (static_cast<std::size_t>(end - at) < 1 + n) return Fast::kShort;
    v.type = ScanValue::kUint;
    v.bits = bigEndian(at + 1, n);
    at += 1 + n;
    return Fast::kRead;
  }
  return Fast::kOther;
}

}  // namespace

inline bool EventScanner::read(ScanValue& v) {
  const unsigned char* at = at_;
  const Fast fast = readFast(at, end_, v);
  at_ = at;
  return fast == Fast::kRead || (fast == Fast::kOther && scalarSlow(v));
}

bool EventScanner::scalar(ScanValue& v) { return read(v); }

// Every scalar format by its first byte (the msgpack spec's table) but positive fixint,
// fixstr and uint 8-64, which both callers, read() and skipScalar(), take themselves.
bool EventScanner::scalarSlow(ScanValue& v) {
  if (!need(1)) return false;
  const unsigned char b = *at_;
  v.type = ScanValue::kOther;
  std::size_t fixed = 0;     // bytes of a fixed-size payload after the first byte
  std::size_t lengthOf = 0;  // bytes of a length field (str, bin, ext)
  std::size_t extra = 0;     // ext: the type byte
  if (b >= 0xe0) {
    v.type = ScanValue::kNegative;
    v.bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int8_t>(b)));
    ++at_;
    return true;
  }
  switch (b) {
    case 0xc0:
      ++at_;
      return true;  // nil
    case 0xc2:
    case 0xc3:
      v.type = ScanValue::kBool;
      v.bits = b == 0xc3;
      ++at_;
      return true;
    case 0xd0:
    case 0xd1:
    case 0xd2:
    case 0xd3: {
      const std::size_t n = std::size_t{1} << (b - 0xd0);
      if (!need(1 + n)) return false;
      std::uint64_t raw = bigEndian(at_ + 1, n);
      if (n < 8 && (raw >> (8 * n - 1)) != 0) raw |= ~std::uint64_t{0} << (8 * n);  // sign
      v.type = static_cast<std::int64_t>(raw) < 0 ? ScanValue::kNegative : ScanValue::kUint;
      v.bits = raw;
      at_ += 1 + n;
      return true;
    }
    case 0xd9:
    case 0xda:
    case 0xdb: {
      const std::size_t n = std::size_t{1} << (b - 0xd9);
      if (!need(1 + n)) return false;
      const std::uint64_t length = bigEndian(at_ + 1, n);
      if (!need(1 + n + length)) return false;
      v.type = ScanValue::kStr;
      v.str = reinterpret_cast<const char*>(at_ + 1 + n);
      v.size = static_cast<std::uint32_t>(length);
      at_ += 1 + n + length;
      return true;
    }
    case 0xca:
      fixed = 4;
      break;
    case 0xcb:
      fixed = 8;
      break;
    case 0xc4:
    case 0xc5:
    case 0xc6:
      lengthOf = std::size_t{1} << (b - 0xc4);
      break;
    case 0xc7:
    case 0xc8:
    case 0xc9:
      lengthOf = std::size_t{1} << (b - 0xc7);
      extra = 1;
      break;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      fixed = 1 + (std::size_t{1} << (b - 0xd4));
      break;
    default:
      return false;  // a container, or 0xc1 (never used)
  }
  std::uint64_t length = fixed;
  if (lengthOf) {
    if (!need(1 + lengthOf)) return false;
    length = bigEndian(at_ + 1, lengthOf) + extra;
  }
  if (!need(1 + lengthOf + length)) return false;
  at_ += 1 + lengthOf + length;
  return true;
}

// The common scalars at once; the rest as scalarSlow() frames them.
inline bool EventScanner::skipScalar() {
  if (!need(1)) return false;
  const unsigned char b = *at_;
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xc2 && b <= 0xc3) || b == 0xc0) {
    ++at_;
    return true;
  }
  if (b >= 0xa0 && b <= 0xbf) {
    const std::size_t n = 1 + (b & 0x1f);
    if (!need(n)) return false;
    at_ += n;
    return true;
  }
  if (b >= 0xcc && b <= 0xd3) {
    const std::size_t n = 1 + (std::size_t{1} << ((b - 0xcc) & 3));
    if (!need(n)) return false;
    at_ += n;
    return true;
  }
  ScanValue ignored;
  return scalarSlow(ignored);
}

bool EventScanner::event(ScannedEvent& e) {
  std::uint32_t elements = 0;
  ScanValue ignored;
  if (!array(elements)) {
    e.size = 0;
    return read(ignored);  // not an event, but framed: skipped as malformed
  }
  e.size = elements;
  const std::uint32_t kept = std::min(elements, ScannedEvent::kMaxElements);
  const unsigned char* at = at_;
  const unsigned char* const end = end_;
  for (std::uint32_t i = 0; i < kept; ++i) {
    const Fast fast = readFast(at, end, e.items[i]);
    if (fast == Fast::kRead) continue;
    at_ = at;
    if (fast == Fast::kShort || !scalarSlow(e.items[i])) return false;
    at = at_;
  }
  at_ = at;
  for (std::uint32_t i = kept; i < elements; ++i) {
    if (!read(ignored)) return false;
  }
  return true;
}

bool EventScanner::skipEvent() {
  std::uint32_t elements = 0;
  if (!array(elements)) return skipScalar();
  for (std::uint32_t i = 0; i < elements; ++i) {
    if (!skipScalar()) return false;
  }
  return true;
}

bool EventScanner::str(std::string_view& text) {
  ScanValue v;
  if (!read(v) || v.type != ScanValue::kStr) return false;
  text = {v.str, v.size};
  return true;
}

bool EventScanner::uint(std::uint64_t& value) {
  ScanValue v;
  if (!read(v) || v.type != ScanValue::kUint) return false;
  value = v.bits;
  return true;
}

}  // namespace loads::proto::detail
