#include "core/handshake/accept_key.h"

#include "core/handshake/base64.h"
#include "core/handshake/sha1.h"

namespace sockudo::handshake {

AcceptKey compute_accept_key(std::string_view key) {
  Sha1 h;
  h.update(key);
  h.update(kWebSocketGuid);
  const Sha1::Digest d = h.finish();
  AcceptKey out;
  static_assert(base64_encoded_size(Sha1::kDigestSize) == kAcceptLength);
  base64_encode(d.data(), d.size(), out.data());
  return out;
}

bool is_valid_key(std::string_view key) {
  if (key.size() != kKeyLength) return false;
  uint8_t nonce[kKeyBytes];
  const auto n = base64_decode(key, nonce, sizeof nonce);
  return n && *n == kKeyBytes;
}

std::array<char, kKeyLength> make_key(const uint8_t nonce[kKeyBytes]) {
  std::array<char, kKeyLength> out;
  static_assert(base64_encoded_size(kKeyBytes) == kKeyLength);
  base64_encode(nonce, kKeyBytes, out.data());
  return out;
}

}  // namespace sockudo::handshake
