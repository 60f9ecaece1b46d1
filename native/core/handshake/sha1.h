// SHA-1 (FIPS 180-4 §6.1), needed only for Sec-WebSocket-Accept (RFC 6455 §4.2.2). The core does
// not link OpenSSL, so this is a small portable implementation; it is not used for anything
// security-relevant (the accept key only proves the server understood the WebSocket handshake).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sockudo::handshake {

class Sha1 {
 public:
  static constexpr size_t kDigestSize = 20;
  using Digest = std::array<uint8_t, kDigestSize>;

  Sha1() { reset(); }
  void reset();
  void update(const uint8_t* data, size_t len);
  void update(std::string_view s) { update(reinterpret_cast<const uint8_t*>(s.data()), s.size()); }
  // Pads, returns the digest and leaves the object reset for reuse.
  Digest finish();

  static Digest of(std::string_view s) {
    Sha1 h;
    h.update(s);
    return h.finish();
  }

 private:
  void compress(const uint8_t block[64]);

  uint32_t h_[5];
  uint64_t total_len_;  // bytes hashed so far
  uint8_t block_[64];
  size_t block_len_;
};

}  // namespace sockudo::handshake
