// SHA-1 (FIPS 180-4 / FIPS 180-2 appendix vectors), base64 (RFC 4648 §10) and the accept key
// (RFC 6455 §1.3, §4.2.2).
#include <algorithm>
#include <string>

#include "core/handshake/accept_key.h"
#include "core/handshake/base64.h"
#include "core/handshake/sha1.h"
#include "harness.h"

using namespace sockudo::handshake;

namespace {

std::string sha1_hex(std::string_view s) {
  const Sha1::Digest d = Sha1::of(s);
  std::string out;
  for (uint8_t b : d) {
    static const char* x = "0123456789abcdef";
    out += x[b >> 4];
    out += x[b & 15];
  }
  return out;
}

std::string b64(std::string_view s) {
  return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}

// Decodes into a string, or "<invalid>".
std::string unb64(std::string_view s, size_t cap = 64) {
  std::string out(cap, '\0');
  auto n = base64_decode(s, reinterpret_cast<uint8_t*>(out.data()), cap);
  if (!n) return "<invalid>";
  out.resize(*n);
  return out;
}

}  // namespace

TEST(sha1_fips_vectors) {
  CHECK_EQ(sha1_hex("abc"), std::string("a9993e364706816aba3e25717850c26c9cd0d89d"));
  CHECK_EQ(sha1_hex(""), std::string("da39a3ee5e6b4b0d3255bfef95601890afd80709"));
  CHECK_EQ(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
           std::string("84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
  CHECK_EQ(sha1_hex("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
                    "klmnopqrlmnopqrsmnopqrstnopqrstu"),
           std::string("a49b2446a02c645bf419f995b67091253a04a259"));
}

TEST(sha1_one_million_a) {
  CHECK_EQ(sha1_hex(std::string(1000000, 'a')), std::string("34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
  // The same fed in uneven pieces exercises the partial-block path.
  Sha1 h;
  const std::string chunk(997, 'a');
  size_t left = 1000000;
  while (left > 0) {
    size_t n = std::min(left, chunk.size());
    h.update(std::string_view(chunk).substr(0, n));
    left -= n;
  }
  const Sha1::Digest d = h.finish();
  CHECK_EQ(harness::to_hex(d.data(), d.size()),
           std::string("34 aa 97 3c d4 c4 da a4 f6 1e eb 2b db ad 27 31 65 34 01 6f"));
}

TEST(sha1_split_anywhere_same_digest) {
  // Lengths around the 55/56/64 padding boundaries, split at every offset.
  for (size_t len : {55u, 56u, 63u, 64u, 65u, 119u, 120u, 128u}) {
    std::string msg;
    for (size_t i = 0; i < len; i++) msg += static_cast<char>('a' + i % 26);
    const Sha1::Digest whole = Sha1::of(msg);
    for (size_t at = 0; at <= len; at++) {
      Sha1 h;
      h.update(std::string_view(msg).substr(0, at));
      h.update(std::string_view(msg).substr(at));
      REQUIRE(h.finish() == whole);
    }
  }
}

TEST(base64_rfc4648_encode) {
  CHECK_EQ(b64(""), std::string(""));
  CHECK_EQ(b64("f"), std::string("Zg=="));
  CHECK_EQ(b64("fo"), std::string("Zm8="));
  CHECK_EQ(b64("foo"), std::string("Zm9v"));
  CHECK_EQ(b64("foob"), std::string("Zm9vYg=="));
  CHECK_EQ(b64("fooba"), std::string("Zm9vYmE="));
  CHECK_EQ(b64("foobar"), std::string("Zm9vYmFy"));
  const uint8_t all[3] = {0xFB, 0xFF, 0xBF};
  CHECK_EQ(base64_encode(all, 3), std::string("+/+/"));
}

TEST(base64_rfc4648_decode) {
  CHECK_EQ(unb64(""), std::string(""));
  CHECK_EQ(unb64("Zg=="), std::string("f"));
  CHECK_EQ(unb64("Zm8="), std::string("fo"));
  CHECK_EQ(unb64("Zm9v"), std::string("foo"));
  CHECK_EQ(unb64("Zm9vYg=="), std::string("foob"));
  CHECK_EQ(unb64("Zm9vYmE="), std::string("fooba"));
  CHECK_EQ(unb64("Zm9vYmFy"), std::string("foobar"));
  CHECK_EQ(unb64("+/+/"), std::string("\xFB\xFF\xBF"));
}

TEST(base64_strict_decode_rejects) {
  const char* bad[] = {
      "Zg",        // missing padding
      "Zg=",       // wrong length
      "Zm9vY",     // wrong length
      "Zg===",     // too much padding
      "====",      // only padding
      "Z===",      // one data char in a quantum
      "Zg=a",      // data after padding
      "Z=g=",      // padding in the middle
      "Zg==Zg==",  // padding before the end
      "Zm9v\n",    // whitespace
      "Zm 9",      // space
      "Zm9-",      // base64url alphabet
      "Zm9_",      // base64url alphabet
      "Zh==",      // non-zero pad bits (canonical form is Zg==)
      "Zm9=",      // non-zero pad bits (canonical form is Zm8=)
      "Zm\x80v",   // non-ASCII
  };
  for (const char* s : bad) {
    if (unb64(s) != "<invalid>") harness::fail(__FILE__, __LINE__, std::string("accepted ") + s);
  }
  // Output that would not fit is rejected without writing past the cap.
  CHECK_EQ(unb64("Zm9vYmFy", 5), std::string("<invalid>"));
  CHECK_EQ(unb64("Zm9vYmFy", 6), std::string("foobar"));
}

TEST(base64_round_trip_all_lengths) {
  std::string data;
  for (int len = 0; len < 100; len++) {
    const std::string enc = b64(data);
    CHECK_EQ(enc.size(), base64_encoded_size(data.size()));
    REQUIRE(unb64(enc, 128) == data);
    data += static_cast<char>(len * 37 + 11);
  }
}

TEST(accept_key_rfc6455_example) {
  // RFC 6455 §1.3; expected value computed independently (python hashlib + base64).
  CHECK_EQ(std::string(as_view(compute_accept_key("dGhlIHNhbXBsZSBub25jZQ=="))),
           std::string("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
  uint8_t nonce[16];
  for (int i = 0; i < 16; i++) nonce[i] = static_cast<uint8_t>(i);
  const auto key = make_key(nonce);
  CHECK_EQ(std::string(key.data(), key.size()), std::string("AAECAwQFBgcICQoLDA0ODw=="));
  CHECK_EQ(std::string(as_view(compute_accept_key("AAECAwQFBgcICQoLDA0ODw=="))),
           std::string("Bz3qJYTGdOe8gUSpLosEdiLKDrk="));
}

TEST(key_validity) {
  CHECK(is_valid_key("dGhlIHNhbXBsZSBub25jZQ=="));
  CHECK(is_valid_key("AAECAwQFBgcICQoLDA0ODw=="));
  CHECK(!is_valid_key(""));
  CHECK(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ"));      // unpadded
  CHECK(!is_valid_key("dGhlIHNhbXBsZSBub25jZR=="));    // non-zero pad bits
  CHECK(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ=a"));
  CHECK(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ==AAAA"));  // 19 bytes
  CHECK(!is_valid_key("Zm9vYmFy"));                      // 6 bytes
  CHECK(!is_valid_key("AAECAwQFBgcICQoLDA0ODxAR"));      // 18 bytes, 24 chars
  CHECK(!is_valid_key("dGhlIHNhbXBsZSBub25jZQ==\n"));
}
