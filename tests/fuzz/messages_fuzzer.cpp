// libFuzzer harness: the decoders every daemon runs on a frame from the network —
// decodeEnvelope (copied and referenced), then decodeBody<T> for the envelope's type.
// A body that decodes must survive a round trip: encode(decode(encode(v))) == encode(v).
// Seed corpus: tests/fuzz/corpus/messages (written by generate_corpus).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "all_messages.hpp"

using namespace loads;

namespace {

template <class T>
void checkBody(const proto::Envelope& envelope) {
  auto body = proto::decodeBody<T>(envelope);
  if (!body) {
    if (body.error() == proto::ErrorCode::kNone || body.reason().empty()) {
      std::fprintf(stderr, "decodeBody failed without an error code and reason\n");
      std::abort();
    }
    return;
  }
  if constexpr (std::is_same_v<T, proto::Run>) (void)proto::validateRun(*body);
  const std::string once = proto::encode(*body);
  auto again = proto::decode<T>(once);
  if (!again || proto::encode(*again) != once) {
    std::fprintf(stderr, "%s does not survive a round trip: %s\n",
                 std::string(proto::messageTypeName(T::kType)).c_str(), again.reason().c_str());
    std::abort();
  }
}

void checkEnvelope(std::string_view bytes, bool reference) {
  auto envelope = proto::decodeEnvelope(bytes, {}, reference);
  if (!envelope) return;
  fuzz::forEachMessageType([&](auto message) {
    using T = decltype(message);
    if (envelope->type == T::kType) checkBody<T>(*envelope);
  });
  // A body of the wrong type is refused, never converted.
  if (envelope->type != proto::MessageType::kPing && proto::decodeBody<proto::Ping>(*envelope)) {
    std::fprintf(stderr, "a %s envelope decoded as PING\n", envelope->typeName.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  checkEnvelope(bytes, false);
  checkEnvelope(bytes, true);
  return 0;
}
