#include "core/handshake/sha1.h"

#include <algorithm>
#include <cstring>

namespace sockudo::handshake {

namespace {

constexpr uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

uint32_t load_be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

}  // namespace

void Sha1::reset() {
  // Initial hash value, FIPS 180-4 §5.3.1.
  h_[0] = 0x67452301;
  h_[1] = 0xEFCDAB89;
  h_[2] = 0x98BADCFE;
  h_[3] = 0x10325476;
  h_[4] = 0xC3D2E1F0;
  total_len_ = 0;
  block_len_ = 0;
}

// FIPS 180-4 §6.1.2: message schedule and 80 rounds over one 512-bit block.
void Sha1::compress(const uint8_t block[64]) {
  uint32_t w[80];
  for (int t = 0; t < 16; t++) w[t] = load_be32(block + 4 * t);
  for (int t = 16; t < 80; t++) w[t] = rotl(w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16], 1);

  uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4];
  for (int t = 0; t < 80; t++) {
    uint32_t f, k;
    if (t < 20) {
      f = (b & c) | (~b & d);
      k = 0x5A827999;
    } else if (t < 40) {
      f = b ^ c ^ d;
      k = 0x6ED9EBA1;
    } else if (t < 60) {
      f = (b & c) | (b & d) | (c & d);
      k = 0x8F1BBCDC;
    } else {
      f = b ^ c ^ d;
      k = 0xCA62C1D6;
    }
    uint32_t tmp = rotl(a, 5) + f + e + k + w[t];
    e = d;
    d = c;
    c = rotl(b, 30);
    b = a;
    a = tmp;
  }
  h_[0] += a;
  h_[1] += b;
  h_[2] += c;
  h_[3] += d;
  h_[4] += e;
}

void Sha1::update(const uint8_t* data, size_t len) {
  total_len_ += len;
  if (block_len_ > 0) {
    size_t take = std::min(len, sizeof block_ - block_len_);
    std::memcpy(block_ + block_len_, data, take);
    block_len_ += take;
    data += take;
    len -= take;
    if (block_len_ < sizeof block_) return;
    compress(block_);
    block_len_ = 0;
  }
  for (; len >= 64; data += 64, len -= 64) compress(data);
  if (len > 0) std::memcpy(block_, data, len);
  block_len_ = len;
}

Sha1::Digest Sha1::finish() {
  // Padding, FIPS 180-4 §5.1.1: 0x80, zeros to 56 mod 64, then the bit length big-endian.
  const uint64_t bit_len = total_len_ * 8;
  block_[block_len_++] = 0x80;
  if (block_len_ > 56) {
    std::memset(block_ + block_len_, 0, sizeof block_ - block_len_);
    compress(block_);
    block_len_ = 0;
  }
  std::memset(block_ + block_len_, 0, 56 - block_len_);
  for (int i = 0; i < 8; i++) block_[56 + i] = static_cast<uint8_t>(bit_len >> (56 - 8 * i));
  compress(block_);

  Digest out;
  for (int i = 0; i < 5; i++) {
    out[4 * i] = static_cast<uint8_t>(h_[i] >> 24);
    out[4 * i + 1] = static_cast<uint8_t>(h_[i] >> 16);
    out[4 * i + 2] = static_cast<uint8_t>(h_[i] >> 8);
    out[4 * i + 3] = static_cast<uint8_t>(h_[i]);
  }
  reset();
  return out;
}

}  // namespace sockudo::handshake
