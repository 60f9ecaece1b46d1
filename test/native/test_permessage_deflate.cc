// permessage-deflate (RFC 7692) data path: the raw DEFLATE codec against the RFC's own byte
// vectors (§7.2.3), bounded inflate (decompression bombs), window limits, the per-connection
// session (shared / dedicated / pooled streams and their memory), and the engine's RSV1 rules —
// each received vector replayed at every split point.
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <zlib-ng.h>

#include "core/protocol/deflate_codec.h"
#include "core/protocol/deflate_context.h"
#include "core/protocol/permessage_deflate.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::hex;
using harness::to_hex;

namespace {

std::vector<uint8_t> inflate_all(RawInflater& inf, const std::vector<uint8_t>& in, uint64_t max, ProtocolError* err = nullptr) {
  std::vector<uint8_t> out;
  const ProtocolError e = inf.decode({in.data(), in.size()}, true, out, max);
  inf.end_message(false);
  if (err) *err = e;
  return out;
}

std::vector<uint8_t> compress(RawDeflater& d, const std::vector<uint8_t>& in, bool reset_after) {
  std::vector<uint8_t> out;
  CHECK(d.compress({in.data(), in.size()}, out, reset_after));
  return out;
}

// Deterministic text that compresses well (repeated JSON-like records).
std::vector<uint8_t> json_like(size_t n, uint32_t seed = 1) {
  std::string s;
  uint32_t x = seed;
  while (s.size() < n) {
    x = x * 1103515245u + 12345u;
    s += "{\"event\":\"update\",\"channel\":\"room-" + std::to_string(x % 50) + "\",\"seq\":" + std::to_string(x % 100000) + "},";
  }
  s.resize(n);
  return bytes_of(s);
}

std::vector<uint8_t> random_bytes(size_t n, uint64_t seed = 7) {
  std::vector<uint8_t> v(n);
  FakeRandom r({}, seed);
  r.fill(v.data(), n);
  return v;
}

DeflateAgreement agreement(bool snct, bool cnct, uint8_t smwb = 15, uint8_t cmwb = 15) {
  DeflateAgreement a;
  a.server_no_context_takeover = snct;
  a.client_no_context_takeover = cnct;
  a.server_max_window_bits = smwb;
  a.client_max_window_bits = cmwb;
  return a;
}

}  // namespace

// RFC 7692 §7.2.3.1: "Hello" compressed is f2 48 cd c9 c9 07 00 (after removing 00 00 ff ff).
TEST(rfc7692_hello_is_the_rfc_bytes) {
  DeflateMemory mem;
  RawDeflater d({15, 8, 9}, mem);
  CHECK(d.ok());
  // Level 9 produces the RFC's fixed-Huffman block for a 5-byte input; level 1 (zlib-ng's quick
  // strategy) may choose another valid encoding, so only the round trip is compared there.
  CHECK_EQ(to_hex(compress(d, bytes_of("Hello"), true)), std::string("f2 48 cd c9 c9 07 00"));
}

TEST(rfc7692_vectors_inflate_at_every_split) {
  struct V {
    const char* name;
    std::vector<std::vector<uint8_t>> messages;  // payloads of consecutive messages, one context
    std::vector<std::string> expect;
  };
  const std::vector<V> vectors = {
      {"7.2.3.1 one message", {hex("f2 48 cd c9 c9 07 00")}, {"Hello"}},
      // §7.2.3.2: the second "Hello" refers back into the first (context takeover).
      {"7.2.3.2 context takeover", {hex("f2 48 cd c9 c9 07 00"), hex("f2 00 11 00 00")}, {"Hello", "Hello"}},
      // §7.2.3.3: a stored (uncompressed) DEFLATE block.
      {"7.2.3.3 stored block", {hex("00 05 00 fa ff 48 65 6c 6c 6f 00")}, {"Hello"}},
      // §7.2.3.4: BFINAL set; the appended tail is ignored.
      {"7.2.3.4 bfinal", {hex("f3 48 cd c9 c9 07 00 00")}, {"Hello"}},
      // §7.2.3.5: two DEFLATE blocks in one message.
      {"7.2.3.5 two blocks", {hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00")}, {"Hello"}},
      // §7.2.3.6: an empty message.
      {"7.2.3.6 empty", {hex("00")}, {""}},
  };
  for (const V& v : vectors) {
    DeflateMemory mem;
    for (size_t m = 0; m < v.messages.size(); m++) {
      // Earlier messages of the vector set up the context once; the last one is split every way.
      if (m + 1 < v.messages.size()) continue;
      // Splits need a fresh context for each replay: rebuild it from the earlier messages.
      std::unique_ptr<RawInflater> cur;
      std::vector<uint8_t> out;
      std::vector<uint8_t> pending;
      ProtocolError err = ProtocolError::None;
      harness::replay_splits(
          v.messages[m],
          [&] {
            cur = std::make_unique<RawInflater>(mem);
            for (size_t k = 0; k < m; k++) inflate_all(*cur, v.messages[k], 1024);
            out.clear();
            pending.clear();
            err = ProtocolError::None;
          },
          [&](const uint8_t* p, size_t n) {
            // The decoder learns which piece is last only with it: hold one piece back.
            if (!pending.empty() && err == ProtocolError::None) err = cur->decode({pending.data(), pending.size()}, false, out, 1024);
            pending.assign(p, p + n);
          },
          [&](const std::string& label) {
            if (err == ProtocolError::None) err = cur->decode({pending.data(), pending.size()}, true, out, 1024);
            cur->end_message(false);
            CHECK_EQ(std::string(v.name) + " " + label + ": " + std::string(error_name(err)), std::string(v.name) + " " + label + ": ");
            CHECK_EQ(std::string(out.begin(), out.end()), v.expect[m]);
          });
    }
  }
}

TEST(round_trip_every_window_and_context_mode) {
  for (uint8_t w = 8; w <= 15; w++) {
    for (bool reset : {false, true}) {
      DeflateMemory mem;
      RawDeflater d({w, 8, 1}, mem);
      CHECK(d.ok());
      RawInflater inf(mem);
      for (int i = 0; i < 20; i++) {
        const auto msg = json_like(100 + 937 * i, static_cast<uint32_t>(i % 3));
        const auto c = compress(d, msg, reset);
        CHECK(c.size() < msg.size());
        ProtocolError e;
        const auto back = inflate_all(inf, c, 1 << 20, &e);
        CHECK_EQ(error_name(e), std::string(""));
        CHECK(back == msg);
      }
    }
  }
}

// §7.1.2.1: a deflater agreed to an N-bit window must never refer further back than 2^N bytes.
// zlib-ng's inflater opened with exactly that window is the judge ("invalid distance too far back").
TEST(deflater_respects_the_agreed_window) {
  for (uint8_t w = 8; w <= 14; w++) {
    DeflateMemory mem;
    RawDeflater d({w, 8, 1}, mem);
    // A block repeated at a distance of 3000 bytes: only windows of 4 KiB and more may use it.
    auto block = random_bytes(3000, w);
    std::vector<uint8_t> msg;
    for (int i = 0; i < 8; i++) msg.insert(msg.end(), block.begin(), block.end());
    auto c = compress(d, msg, false);
    c.insert(c.end(), {0x00, 0x00, 0xff, 0xff});
    zng_stream z;
    std::memset(&z, 0, sizeof z);
    CHECK_EQ(zng_inflateInit2(&z, -int(w)), Z_OK);
    std::vector<uint8_t> out(msg.size() + 64);
    z.next_in = c.data();
    z.avail_in = static_cast<uint32_t>(c.size());
    z.next_out = out.data();
    z.avail_out = static_cast<uint32_t>(out.size());
    const int r = zng_inflate(&z, Z_SYNC_FLUSH);
    CHECK(r == Z_OK || r == Z_BUF_ERROR);
    out.erase(out.end() - z.avail_out, out.end());
    zng_inflateEnd(&z);
    if (!(out == msg)) harness::fail(__FILE__, __LINE__, "window " + std::to_string(w) + ": inflate with the agreed window failed");
    if (w >= 12) CHECK(c.size() < msg.size() / 4);  // the repeat was used
    if (w <= 11) CHECK(c.size() > msg.size() / 2);  // it could not be: out of the window
  }
}

TEST(inflate_bomb_stops_at_the_limit_without_allocating_past_it) {
  DeflateMemory mem;
  RawDeflater d({15, 8, 1}, mem);
  const std::vector<uint8_t> zeros(16 << 20, 0);  // 16 MiB of zeros → about 16 KiB compressed
  auto c = compress(d, zeros, true);
  CHECK(c.size() < 256 * 1024);  // level 1 (quick): about 64:1 on zeros
  RawInflater inf(mem);
  for (uint64_t limit : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1} << 20}) {
    std::vector<uint8_t> out;
    // Fed in small pieces, as a slow peer would send it.
    ProtocolError e = ProtocolError::None;
    for (size_t off = 0; off < c.size() && e == ProtocolError::None; off += 1000) {
      const size_t n = std::min<size_t>(1000, c.size() - off);
      e = inf.decode({c.data() + off, n}, off + n == c.size(), out, limit);
    }
    inf.end_message(true);
    CHECK_EQ(std::string(error_name(e)), std::string("WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"));
    CHECK(out.size() <= limit + 1);
    CHECK(out.capacity() <= limit + 1);
  }
  // Exactly at the limit is fine.
  std::vector<uint8_t> out;
  const auto small = compress(d, std::vector<uint8_t>(5000, 'a'), true);
  CHECK_EQ(std::string(error_name(inf.decode({small.data(), small.size()}, true, out, 5000))), std::string(""));
  CHECK_EQ(out.size(), size_t{5000});
}

TEST(corrupt_data_is_invalid_compressed_data_and_the_stream_recovers) {
  DeflateMemory mem;
  RawInflater inf(mem);
  ProtocolError e;
  inflate_all(inf, hex("ff ff ff ff"), 1024, &e);  // block type 3 is reserved
  CHECK_EQ(std::string(error_name(e)), std::string("WS_ERR_INVALID_COMPRESSED_DATA"));
  CHECK_EQ(close_code_for(e), uint16_t{1007});
  // Pooled inflaters are reused: after end_message a valid message decodes.
  const auto back = inflate_all(inf, hex("f2 48 cd c9 c9 07 00"), 1024, &e);
  CHECK_EQ(std::string(back.begin(), back.end()), std::string("Hello"));
}

TEST(payload_cut_mid_block_fails_and_an_empty_payload_is_an_empty_message) {
  DeflateMemory mem;
  RawInflater inf(mem);
  ProtocolError e;
  // "Hello" without its last byte: the fixed-Huffman block has no end-of-block code yet.
  inflate_all(inf, hex("f2 48 cd c9 c9 07"), 1024, &e);
  CHECK_EQ(std::string(error_name(e)), std::string("WS_ERR_INVALID_COMPRESSED_DATA"));
  // A stored block announcing 5 bytes and carrying 2.
  inflate_all(inf, hex("00 05 00 fa ff 48 65"), 1024, &e);
  CHECK_EQ(std::string(error_name(e)), std::string("WS_ERR_INVALID_COMPRESSED_DATA"));
  // An RSV1 message with no payload at all (what zlib gives a sender for an empty message right
  // after another): empty, and the context is untouched for the next message.
  CHECK(inflate_all(inf, {}, 1024, &e).empty());
  CHECK_EQ(std::string(error_name(e)), std::string(""));
  const auto hello = inflate_all(inf, hex("f2 48 cd c9 c9 07 00"), 1024, &e);
  CHECK_EQ(std::string(hello.begin(), hello.end()), std::string("Hello"));
  CHECK(inflate_all(inf, {}, 1024, &e).empty());
  const auto again = inflate_all(inf, hex("f2 00 11 00 00"), 1024, &e);  // §7.2.3.2 refers back
  CHECK_EQ(std::string(again.begin(), again.end()), std::string("Hello"));
}

TEST(memory_is_counted_and_released) {
  DeflateMemory mem;
  {
    RawDeflater d({15, 8, 1}, mem);
    CHECK(mem.bytes > 256 * 1024);  // zlib-ng: window + chains + 128 KiB hash + literal buffers
    CHECK_EQ(mem.deflaters, uint32_t{1});
    const uint64_t big = mem.bytes;
    RawDeflater small({9, 1, 1}, mem);
    CHECK(mem.bytes - big < big);
    RawInflater inf(mem);
    CHECK_EQ(mem.inflaters, uint32_t{1});
  }
  CHECK_EQ(mem.bytes, uint64_t{0});
  CHECK_EQ(mem.deflaters, uint32_t{0});
  CHECK_EQ(mem.inflaters, uint32_t{0});
}

TEST(session_shared_mode_holds_no_streams_between_messages) {
  DeflateContext ctx;
  DeflateSettings s;
  // Shared mode negotiates no context takeover both ways.
  PerMessageDeflate a(Role::Server, agreement(true, true), s, ctx);
  PerMessageDeflate b(Role::Server, agreement(true, true), s, ctx);
  CHECK(a.uses_shared_deflater());
  CHECK(a.borrows_inflaters());
  const auto msg = json_like(4000);
  std::span<const uint8_t> out;
  CHECK(a.encode({msg.data(), msg.size()}, out));
  const std::vector<uint8_t> first(out.begin(), out.end());
  CHECK(b.encode({msg.data(), msg.size()}, out));
  CHECK(std::vector<uint8_t>(out.begin(), out.end()) == first);  // same bytes: nothing carried over
  CHECK_EQ(ctx.memory().deflaters, uint32_t{1});
  CHECK(!a.holds_deflater());
  // Decoding borrows an inflater for one message and returns it.
  std::vector<uint8_t> plain;
  CHECK_EQ(std::string(error_name(a.decode({first.data(), first.size() / 2}, false, plain, 1 << 20))), std::string(""));
  CHECK(a.holds_inflater());
  CHECK_EQ(std::string(error_name(a.decode({first.data() + first.size() / 2, first.size() - first.size() / 2}, true, plain, 1 << 20))),
           std::string(""));
  CHECK(plain == msg);
  CHECK(!a.holds_inflater());
  CHECK_EQ(ctx.pooled_inflaters(), size_t{1});
  CHECK_EQ(ctx.memory().inflaters, uint32_t{1});
}

TEST(session_dedicated_mode_keeps_context_and_resets_after_an_uncompressed_fallback) {
  DeflateContext ctx;
  DeflateSettings s;
  PerMessageDeflate server(Role::Server, agreement(false, false), s, ctx);
  PerMessageDeflate client(Role::Client, agreement(false, false), s, ctx);
  CHECK(!server.uses_shared_deflater());
  const auto msg = json_like(2000, 5);
  std::span<const uint8_t> out;
  CHECK(server.encode({msg.data(), msg.size()}, out));
  const size_t first = out.size();
  std::vector<uint8_t> got;
  CHECK_EQ(std::string(error_name(client.decode(out, true, got, 1 << 20))), std::string(""));
  CHECK(got == msg);
  CHECK(server.holds_deflater());
  CHECK(client.holds_inflater());  // dedicated: kept for the next message
  // The same message again is much smaller: context takeover.
  CHECK(server.encode({msg.data(), msg.size()}, out));
  CHECK(out.size() * 4 < first);
  got.clear();
  CHECK_EQ(std::string(error_name(client.decode(out, true, got, 1 << 20))), std::string(""));
  CHECK(got == msg);
  // Incompressible: sent as is, and the deflater forgets it; the message after it must still
  // decode on a peer that never saw the incompressible one.
  const auto noise = random_bytes(3000);
  CHECK(!server.encode({noise.data(), noise.size()}, out));
  std::vector<uint8_t> mixed = noise;
  mixed.insert(mixed.end(), msg.begin(), msg.end());
  CHECK(server.encode({mixed.data(), mixed.size()}, out));
  got.clear();
  CHECK_EQ(std::string(error_name(client.decode(out, true, got, 1 << 20))), std::string(""));
  CHECK(got == mixed);
}

TEST(session_threshold_and_agreed_window) {
  DeflateContext ctx;
  DeflateSettings s;
  s.threshold = 100;
  PerMessageDeflate p(Role::Server, agreement(false, false, 10, 15), s, ctx);
  const auto small = json_like(99);
  std::span<const uint8_t> out;
  CHECK(!p.encode({small.data(), small.size()}, out));
  CHECK(!p.holds_deflater());  // nothing allocated for a message that is not compressed
  const auto big = json_like(100);
  CHECK(p.encode({big.data(), big.size()}, out));
  // The client's window limits our compressor when we are the client.
  PerMessageDeflate c(Role::Client, agreement(false, false, 15, 9), s, ctx);
  CHECK(c.encode({big.data(), big.size()}, out));
}

// --- the engine with permessage-deflate --------------------------------------------------------

namespace {
struct DeflateEngine {
  DeflateContext ctx;
  PerMessageDeflate pmd;
  ConnectionConfig cfg;
  std::unique_ptr<Connection> conn;
  EventLog log;
  explicit DeflateEngine(DeflateAgreement a = agreement(false, false), uint64_t max_message = 1 << 20)
      : pmd(Role::Server, a, DeflateSettings{}, ctx) {
    cfg.role = Role::Server;
    cfg.rsv1_allowed = true;
    cfg.transform = &pmd;
    cfg.compressor = &pmd;
    cfg.max_message_size = max_message;
    cfg.auto_ping = false;
    conn = std::make_unique<Connection>(cfg, 0);
  }
  void reset() {
    conn = std::make_unique<Connection>(cfg, 0);
    log.clear();
  }
  void feed(const uint8_t* p, size_t n) {
    std::vector<uint8_t> copy(p, p + n);
    conn->receive(copy.data(), copy.size(), 0, log);
  }
};

// A client frame with RSV1 (0x40) as the first byte asks for.
std::vector<uint8_t> deflated_frame(uint8_t first_byte, const std::vector<uint8_t>& payload) { return cframe(first_byte, payload); }
}  // namespace

TEST(engine_decodes_compressed_messages_at_every_split) {
  // §7.2.3.1 "Hello" in one frame, then fragmented (§6.1: RSV1 only on the first frame), then an
  // uncompressed message between compressed ones, then the RFC's context-takeover "Hello" that
  // refers back into the previous compressed message.
  const auto input = cat({deflated_frame(0xC1, hex("f2 48 cd c9 c9 07 00")),
                          deflated_frame(0x41, hex("f2 48 cd")), deflated_frame(0x80, hex("c9 c9 07 00")),
                          cframe(0x81, bytes_of("plain")),
                          deflated_frame(0xC1, hex("f2 00 11 00 00"))});
  std::unique_ptr<DeflateEngine> e;
  harness::replay_splits(
      input, [&] { e = std::make_unique<DeflateEngine>(); }, [&](const uint8_t* p, size_t n) { e->feed(p, n); },
      [&](const std::string& label) {
        CHECK_EQ(label + ": " + join(e->log.events), label + ": text:48 65 6c 6c 6f | text:48 65 6c 6c 6f | text:70 6c 61 69 6e | text:48 65 6c 6c 6f");
      });
}

TEST(engine_rsv1_rules) {
  struct Case {
    const char* name;
    std::vector<uint8_t> input;
    const char* error;
  };
  const std::vector<Case> cases = {
      {"RSV1 on a continuation frame", cat({deflated_frame(0x41, hex("f2 48 cd")), deflated_frame(0xC0, hex("c9 c9 07 00"))}),
       "WS_ERR_UNEXPECTED_RSV_1"},
      {"RSV1 on a ping", cframe(0xC9, bytes_of("x")), "WS_ERR_UNEXPECTED_RSV_1"},
      {"RSV1 on a close", cframe(0xC8, hex("03 e8")), "WS_ERR_UNEXPECTED_RSV_1"},
      {"corrupt DEFLATE", deflated_frame(0xC2, hex("ff ff ff ff")), "WS_ERR_INVALID_COMPRESSED_DATA"},
      {"inflated text is not UTF-8", deflated_frame(0xC1, [] {
         DeflateMemory m;
         RawDeflater d({15, 8, 1}, m);
         std::vector<uint8_t> out;
         const std::vector<uint8_t> bad = {'a', 0xff, 'b'};
         d.compress({bad.data(), bad.size()}, out, true);
         return out;
       }()),
       "WS_ERR_INVALID_UTF8"},
  };
  for (const Case& c : cases) {
    DeflateEngine e;
    e.feed(c.input.data(), c.input.size());
    bool found = false;
    for (const auto& ev : e.log.events) found = found || ev == std::string("error ") + c.error;
    if (!found) harness::fail(__FILE__, __LINE__, std::string(c.name) + ": " + join(e.log.events));
    // The close frame carries the error's code.
    const auto out = drain(e.conn->output());
    CHECK(out.size() >= 4);
    CHECK_EQ(int(out[0]), 0x88);
  }
}

TEST(engine_bomb_closes_1009) {
  DeflateMemory mem;
  RawDeflater d({15, 8, 1}, mem);
  std::vector<uint8_t> c;
  const std::vector<uint8_t> zeros(8 << 20, 0);
  d.compress({zeros.data(), zeros.size()}, c, true);
  DeflateEngine e(agreement(false, false), 1 << 20);  // 1 MiB message limit, 8 MiB inside
  const auto f = deflated_frame(0xC2, c);
  e.feed(f.data(), f.size());
  CHECK_EQ(join(e.log.events), std::string("error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH | close 1006:"));
  const auto out = drain(e.conn->output());
  CHECK_EQ(to_hex(out), std::string("88 02 03 f1"));
}

TEST(engine_sends_compressed_with_rsv1_on_the_first_fragment_only) {
  DeflateEngine e;
  e.cfg.max_frame_size = 64;  // forces fragments of the compressed payload
  e.reset();
  const auto msg = json_like(5000);
  CHECK(e.conn->send_message(Opcode::Text, {msg.data(), msg.size()}, 0, nullptr, true) == SendStatus::Ok);
  const auto out = drain(e.conn->output());
  // Walk the frames: first 0x41 (RSV1, text, no FIN), then 0x00 continuations, last 0x80.
  size_t off = 0;
  int frames = 0;
  std::vector<uint8_t> payload;
  while (off < out.size()) {
    const uint8_t b0 = out[off];
    size_t len = out[off + 1] & 0x7f;
    size_t hdr = 2;
    if (len == 126) {
      len = (size_t(out[off + 2]) << 8) | out[off + 3];
      hdr = 4;
    }
    if (frames == 0) CHECK_EQ(int(b0 & 0x7f), 0x41);
    else CHECK_EQ(int(b0 & 0x70), 0);
    payload.insert(payload.end(), out.begin() + off + hdr, out.begin() + off + hdr + len);
    off += hdr + len;
    frames++;
    if (b0 & 0x80) break;
  }
  CHECK_EQ(off, out.size());
  CHECK(frames > 1);
  DeflateMemory mem;
  RawInflater inf(mem);
  CHECK(inflate_all(inf, payload, 1 << 20) == msg);
  // compress = false, or no compressor: plain frame.
  CHECK(e.conn->send_message(Opcode::Text, {msg.data(), 10}, 0, nullptr, false) == SendStatus::Ok);
  CHECK_EQ(int(drain(e.conn->output())[0]), 0x81);
}

// --- per-turn inflate budget (issue 13 item 1): suspend and resume give the same result -------

TEST(inflater_budget_yields_and_resumes_to_the_same_output_and_errors) {
  DeflateMemory mem;
  RawDeflater d({15, 8, 1}, mem);
  const auto msg = json_like(300 * 1024);
  const auto c = compress(d, msg, true);
  for (uint64_t budget : {uint64_t{1}, uint64_t{1000}, uint64_t{16 * 1024}, uint64_t{256 * 1024}}) {
    for (size_t piece : {size_t{7}, size_t{4096}, c.size()}) {
      RawInflater inf(mem);
      std::vector<uint8_t> out;
      size_t yields = 0;
      ProtocolError e = ProtocolError::None;
      for (size_t off = 0; off < c.size() && e == ProtocolError::None;) {
        const size_t n = std::min(piece, c.size() - off);
        uint64_t left = budget;
        e = inf.decode({c.data() + off, n}, off + n == c.size(), out, 1 << 30, &left);
        while (e == ProtocolError::Yield) {
          yields++;
          CHECK(inf.suspended());
          left = budget;
          e = inf.resume(out, 1 << 30, &left);
        }
        off += n;
      }
      inf.end_message(true);
      CHECK_EQ(std::string(error_name(e)), std::string(""));
      CHECK(out == msg);
      // Every call produced at most `budget` bytes: at least size/budget - pieces yields.
      // Every call (a decode per piece, a resume per yield) produced at most `budget` bytes.
      const size_t calls = yields + (c.size() + piece - 1) / piece;
      if (calls * budget < msg.size())
        harness::fail(__FILE__, __LINE__, "budget " + std::to_string(budget) + " piece " + std::to_string(piece) + ": " +
                                              std::to_string(calls) + " calls for " + std::to_string(msg.size()) + " bytes");
    }
  }
  // A bomb under a budget still stops at the limit, with the same error.
  const std::vector<uint8_t> zeros(8 << 20, 0);
  const auto bomb = compress(d, zeros, true);
  RawInflater inf(mem);
  std::vector<uint8_t> out;
  uint64_t left = 64 * 1024;
  ProtocolError e = inf.decode({bomb.data(), bomb.size()}, true, out, 1 << 20, &left);
  size_t turns = 1;
  while (e == ProtocolError::Yield) {
    left = 64 * 1024;
    e = inf.resume(out, 1 << 20, &left);
    turns++;
  }
  CHECK_EQ(std::string(error_name(e)), std::string("WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"));
  CHECK(turns >= 16);  // 1 MiB in 64 KiB turns
  CHECK(out.capacity() <= (1u << 20) + 1);
}

namespace {
// Feeds `input` in `pieces` and resumes while suspended, as the transport does each loop turn.
struct BudgetedEngine : DeflateEngine {
  explicit BudgetedEngine(uint64_t budget, DeflateAgreement a = agreement(false, false), uint64_t max = 8 << 20)
      : DeflateEngine(a, max) {
    cfg.inflate_budget = budget;
    reset();
  }
  size_t resumes = 0;
  void feed_and_run(const uint8_t* p, size_t n) {
    feed(p, n);
    while (conn->suspended()) {
      resumes++;
      conn->resume(0, log);
    }
  }
};
}  // namespace

TEST(engine_with_inflate_budget_delivers_the_same_events_at_every_split) {
  DeflateMemory mem;
  RawDeflater d({15, 8, 1}, mem);
  const auto big = json_like(40 * 1024, 3);
  const auto first = compress(d, big, true);
  // Compressed message, plain text, compressed fragmented message, ping, compressed "Hello".
  const auto input = cat({deflated_frame(0xC1, first), cframe(0x81, bytes_of("plain")),
                          deflated_frame(0x41, hex("f2 48 cd")), cframe(0x89, bytes_of("p")), deflated_frame(0x80, hex("c9 c9 07 00")),
                          deflated_frame(0xC1, hex("f2 48 cd c9 c9 07 00"))});
  std::string expected;
  {
    DeflateEngine plain;
    plain.feed(input.data(), input.size());
    expected = join(plain.log.events);
    CHECK(expected.find("text:70 6c 61 69 6e") != std::string::npos);
  }
  for (uint64_t budget : {uint64_t{1}, uint64_t{4096}}) {
    std::unique_ptr<BudgetedEngine> e;
    size_t total_resumes = 0;
    harness::replay_splits(
        input, [&] { e = std::make_unique<BudgetedEngine>(budget); },
        [&](const uint8_t* p, size_t n) { e->feed_and_run(p, n); },
        [&](const std::string& label) {
          CHECK_EQ(label + ": " + join(e->log.events), label + ": " + expected);
          total_resumes += e->resumes;
        },
        [&](size_t at) { return at % 97 == 0 || at < 40 || at + 40 > input.size(); });
    CHECK(total_resumes > 0);
  }
}

TEST(engine_input_received_while_suspended_waits_in_order) {
  DeflateMemory mem;
  RawDeflater d({15, 8, 1}, mem);
  const auto big = json_like(100 * 1024, 5);
  const auto f = deflated_frame(0xC2, compress(d, big, true));
  BudgetedEngine e(8 * 1024);
  e.feed(f.data(), f.size());
  CHECK(e.conn->suspended());
  CHECK(e.log.events.empty());
  const auto later = cframe(0x81, bytes_of("later"));
  e.feed(later.data(), later.size());  // a Duplex may still deliver: kept behind the rest
  CHECK(e.log.events.empty());
  while (e.conn->suspended()) e.conn->resume(0, e.log);
  CHECK_EQ(e.log.events.size(), size_t{2});
  CHECK_EQ(e.log.events[1], std::string("text:6c 61 74 65 72"));
  // Liveness is off while suspended: nothing could be read meanwhile.
  BudgetedEngine s(8 * 1024);
  s.cfg.idle_timeout_ms = 100;
  s.reset();
  s.feed(f.data(), f.size());
  CHECK(s.conn->suspended());
  CHECK_EQ(s.conn->next_deadline(), kNoDeadline);
}
