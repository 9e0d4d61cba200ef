// EventScanner: reads results events (PROTOCOL.md §5.3) straight from their msgpack
// bytes, value by value, without msgpack's object tree. Decoding a RESULTS batch into
// objects took a counting pass for the limits and a 24-byte object per value in a zone:
// two thirds of the master's instructions per event in callgrind, and most of a
// summarising slave's folding (bench/RESULTS.md, issue #13). The scanner allocates
// nothing. It reads what a sender of this version writes (arrays of scalars inside the
// envelope's arrays) and refuses the rest, a map or a nested array in an event, or more
// values or elements than the limits allow: its callers then fall back to the object
// decoder, so anything unusual is decoded, and refused, exactly as before.
//
// Thread-safety: none (one owner); reads bytes the caller keeps alive.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "proto/messages.hpp"

namespace loads::proto::detail {

// One scalar as an event's reader needs it; anything else (nil, float, bin, ext, array,
// map) is kOther. Only the fields of its type are set (no initialisers: an event holds 24
// of them, made once per event); `ScanValue v{}` for all zero.
struct ScanValue {
  enum Type : std::uint8_t { kOther, kUint, kNegative, kStr, kBool };
  Type type;
  std::uint64_t bits;  // kUint: the value; kNegative: the int64's bits; kBool: 0 or 1
  const char* str;     // kStr
  std::uint32_t size;  // kStr: bytes
};

// An event's elements as scanned: the first kMaxElements kept, the rest framed and
// skipped. An event that is not an array has size 0.
struct ScannedEvent {
  static constexpr std::uint32_t kMaxElements = 24;  // addHit with phases has 20
  std::uint32_t size = 0;                            // elements in the array
  ScanValue items[kMaxElements];
};

class EventScanner {
 public:
  EventScanner(std::string_view bytes, const DecodeLimits& limits)
      : at_(reinterpret_cast<const unsigned char*>(bytes.data())),
        end_(at_ + bytes.size()),
        limits_(limits) {}

  bool atEnd() const { return at_ == end_; }
  const char* position() const { return reinterpret_cast<const char*>(at_); }
  // Values framed so far, counted as the object decoder's limit counts them.
  std::uint64_t values() const { return values_; }

  // Each false when the next value is not of that type, cannot be framed or exceeds the
  // limits (then where the scanner stands is unspecified: give up on the input).
  bool array(std::uint32_t& elements);
  bool str(std::string_view& text);
  bool uint(std::uint64_t& value);
  // One scalar of any type (false on a container).
  bool scalar(ScanValue& value);
  // One event: an array of scalars, or a scalar (size 0: not an event).
  bool event(ScannedEvent& event);
  // The same, framed and not kept (cheaper).
  bool skipEvent();

 private:
  bool read(ScanValue& value);  // scalar(), inline for the formats this version packs
  bool scalarSlow(ScanValue& value);
  bool skipScalar();
  bool need(std::size_t bytes) const { return static_cast<std::size_t>(end_ - at_) >= bytes; }

  const unsigned char* at_;
  const unsigned char* end_;
  const DecodeLimits& limits_;
  std::uint64_t values_ = 1;  // the root, as the object decoder's counter starts
};

}  // namespace loads::proto::detail
