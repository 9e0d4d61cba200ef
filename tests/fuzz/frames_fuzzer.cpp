// libFuzzer harness: what a raw ZMTP 3 peer can send after its greeting — a stream of
// frames (flags: MORE 0x01, LONG 0x02, COMMAND 0x04; then a 1- or 8-byte size), grouped
// into multipart messages, possibly ending in an unfinished one (issue 12). Every
// receiver takes a message of exactly one body frame and refuses any other shape whole
// (PROTOCOL.md §2), so only single-frame messages reach the decoders, as here; a decoded
// envelope must hold no more msgpack values than DecodeLimits allows (PROTOCOL.md §3).
// Seed corpus: tests/fuzz/corpus/frames (written by generate_corpus).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "all_messages.hpp"

using namespace loads;

namespace {

std::size_t countValues(const msgpack::object& o) {
  std::size_t n = 1;
  if (o.type == msgpack::type::ARRAY) {
    for (std::uint32_t i = 0; i < o.via.array.size; ++i) n += countValues(o.via.array.ptr[i]);
  } else if (o.type == msgpack::type::MAP) {
    for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
      n += countValues(o.via.map.ptr[i].key) + countValues(o.via.map.ptr[i].val);
    }
  }
  return n;
}

void checkMessage(std::string_view frame) {
  proto::DecodeLimits limits;
  limits.maxObjects = 512;  // small, so that the fuzzer reaches the bound
  for (bool reference : {false, true}) {
    auto envelope = proto::decodeEnvelope(frame, limits, reference);
    if (!envelope) continue;
    if (countValues(envelope->body) > limits.maxObjects) {
      std::fprintf(stderr, "a %s body decoded into more than %zu values\n",
                   envelope->typeName.c_str(), limits.maxObjects);
      std::abort();
    }
    fuzz::forEachMessageType([&](auto message) {
      using T = decltype(message);
      if (envelope->type == T::kType) (void)proto::decodeBody<T>(*envelope);
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::vector<std::string_view> message;
  while (!bytes.empty()) {
    const auto flags = static_cast<unsigned char>(bytes[0]);
    const std::size_t header = (flags & 0x02) ? 9 : 2;
    if (bytes.size() < header) break;
    std::uint64_t length = 0;
    for (std::size_t i = 1; i < header; ++i)
      length = length << 8 | static_cast<unsigned char>(bytes[i]);
    if (length > bytes.size() - header) break;  // unfinished: the transport holds it (InboundGuard)
    const std::string_view frame = bytes.substr(header, length);
    bytes.remove_prefix(header + length);
    if (flags & 0x04) continue;  // a ZMTP command (PING, ...), not part of a message
    message.push_back(frame);
    if (flags & 0x01) continue;
    if (message.size() == 1) checkMessage(message[0]);  // other shapes are dropped whole
    message.clear();
  }
  return 0;
}
