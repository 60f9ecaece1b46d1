// fuzz_h2_session: the HTTP/2 session layer itself (transport/h2_session.cc, h2_stream_link.cc and
// the endpoints on its streams), driven through a fake link on a real libuv loop: a peer's frames
// at any split, the link's reads and writes throttled, the application's decisions and actions
// interleaved, ending with EOF and a loop shutdown.
//
// Input layout: a script of operations, each an opcode byte (taken modulo 16) and its operands.
// Frames are appended to a pending input buffer (the HTTP/2 client preface is there at the start
// unless the first byte is 0xFF); only a "read" hands bytes to the session, and only while the
// session wants to read (as a real link would):
//   0 HEADERS      [stream][flags][field mask u16][size u8][strings…]: an HPACK block (nghttp2's
//                  encoder) of an extended CONNECT request with fields chosen by the mask, split
//                  into HEADERS + CONTINUATION at a chosen point
//   1 DATA         [stream][flags][count][ws frames…]: masked WebSocket frames as the payload
//   2 RST_STREAM   [stream][code]      3 WINDOW_UPDATE [stream or 0][increment u16]
//   4 SETTINGS     [count][(id, value u16)…] or an ACK    5 PING / PING ACK
//   6 GOAWAY       7 PRIORITY          8 raw frame [type][flags][stream][len][bytes]
//   9 raw bytes    [len][bytes]
//  10 read         [size u16]: the next bytes of pending input, one link read (a split point)
//  11 loop turn    uv_run(NOWAIT): the loop's flush of corked output; link closes complete
//  12 writable     [budget u16]: what the link takes per write from now on (0: it blocks);
//                  on_link_writable when the session waits for it
//  13 decide       [which][how]: accept (subprotocol / deflate answer) or reject a pending request
//  14 act          [which][what][size]: on an open WebSocket: send, ping, close, terminate,
//                  pause, resume, subscribe + publish
//  15 end          [b] odd: the server closes gracefully (GOAWAY) and the script goes on;
//                  even: EOF (or a link failure) now
//
// Properties: no sanitizer report and no leak (every Endpoint, H2Session, stream and queued byte
// is freed after EOF and the loop's shutdown); each WebSocket's on_close comes exactly once and
// nothing follows it; the session never writes more than the link took; a stream's endpoint is
// only ever reported gone once; the loop ends with no member left.
#pragma once

#include <nghttp2/nghttp2.h>
#include <uv.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "core/simd/mask.h"
#include "fuzz_common.h"
#include "transport/endpoint.h"
#include "transport/event_loop.h"
#include "transport/h2_session.h"
#include "transport/publish.h"

namespace fuzz_h2_session {

using namespace sockudo;
using namespace sockudo::transport;

struct Harness;

// The connection's link: input comes from the script, output is counted and dropped.
class FakeLink final : public Link {
 public:
  explicit FakeLink(Harness& h) : h_(h) {}
  ~FakeLink() override;
  void set_events(LinkEvents* events) override { events_ = events; }
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override {
    wants_read_ = read;
    wants_write_ = write;
  }
  bool shutdown_write() override { return true; }
  void close(void (*done)(void*), void* arg) override;
  bool encrypted() const override { return true; }
  std::string_view alpn() const override { return "h2"; }

  Harness& h_;
  LinkEvents* events_ = nullptr;
  bool wants_read_ = true;
  bool wants_write_ = false;
  bool closed_ = false;
  size_t budget_ = SIZE_MAX;
};

// One accepted WebSocket as the application sees it.
struct App final : SocketHandler {
  Harness* h = nullptr;
  Endpoint* ep = nullptr;  // null once gone
  bool closed = false;
  bool echo = true;
  void on_message(protocol::Opcode op, std::span<const uint8_t> data, bool) override;
  void on_ping(std::span<const uint8_t>) override { FUZZ_CHECK(!closed); }
  void on_pong(std::span<const uint8_t>) override { FUZZ_CHECK(!closed); }
  void on_close(uint16_t code, std::span<const uint8_t>) override {
    FUZZ_CHECK(!closed);  // exactly once
    closed = true;
    close_code = code;
  }
  uint16_t close_code = 0;
  size_t messages = 0;
  void on_error(protocol::ProtocolError) override { FUZZ_CHECK(!closed); }
  void on_drain() override {}
  void on_client_open() override { FUZZ_CHECK(false); }
  void on_client_failed(const ClientFailure&) override { FUZZ_CHECK(false); }
  double on_external_write(std::span<const io::Slice>) override { FUZZ_CHECK(false); }
  void on_external_flow(bool) override {}
  void on_external_end() override {}
  void on_detached() override {}
};

struct Harness final : ServerHandler {
  uv_loop_t uv{};
  std::unique_ptr<Loop> loop;
  FakeLink* link = nullptr;   // null once the session freed it
  H2Session* session = nullptr;
  std::vector<Endpoint*> pending;   // awaiting a decision
  std::vector<Endpoint*> live;      // every endpoint not yet gone
  std::vector<std::unique_ptr<App>> apps;
  std::vector<std::pair<void (*)(void*), void*>> closes;  // link closes completing at the next turn
  std::vector<uint8_t> input;  // frames not yet read
  size_t input_off = 0;
  uint64_t written = 0;  // bytes the link took

  void on_socket_created(Endpoint& e) override { live.push_back(&e); }
  void on_upgrade_request(Endpoint& e, const handshake::HeaderList&, const handshake::UpgradeRequest&) override {
    pending.push_back(&e);
  }
  void on_handshake_rejected(Endpoint&, int) override {}
  void on_socket_gone(Endpoint& e) override {
    auto it = std::find(live.begin(), live.end(), &e);
    FUZZ_CHECK(it != live.end());  // reported once, and only for endpoints it created
    live.erase(it);
    pending.erase(std::remove(pending.begin(), pending.end(), &e), pending.end());
    for (auto& a : apps)
      if (a->ep == &e) a->ep = nullptr;
  }
  void on_session_created(H2Session& s) override { session = &s; }
  void on_session_gone(H2Session& s) override {
    FUZZ_CHECK(session == &s);
    session = nullptr;
  }

  void run_closes() {
    while (!closes.empty()) {
      auto todo = std::move(closes);
      closes.clear();
      for (auto& [done, arg] : todo) done(arg);
    }
  }
  void turn() {
    uv_run(&uv, UV_RUN_NOWAIT);
    run_closes();
  }
};

inline FakeLink::~FakeLink() {
  if (h_.link == this) h_.link = nullptr;
}

inline LinkWrite FakeLink::write(std::span<const io::Slice> slices) {
  LinkWrite w;
  FUZZ_CHECK(!closed_);  // nothing is written to a link after its close
  size_t total = 0;
  for (const auto& s : slices) total += s.len;
  w.taken = std::min(total, budget_);
  w.blocked = w.taken < total;
  h_.written += w.taken;
  return w;
}

inline void FakeLink::close(void (*done)(void*), void* arg) {
  FUZZ_CHECK(!closed_);
  closed_ = true;
  h_.closes.emplace_back(done, arg);
}

inline void App::on_message(protocol::Opcode op, std::span<const uint8_t> data, bool) {
  FUZZ_CHECK(!closed);
  messages++;
  if (!echo || ep == nullptr) return;
  auto copy = std::make_unique<io::CopiedBytes>(data.data(), data.size());
  const std::span<const uint8_t> bytes(copy->mem.get(), data.size());
  ep->send(op, bytes, std::move(copy));
}

// --- building the peer's frames ------------------------------------------------------------------

inline void frame_header(std::vector<uint8_t>& out, size_t len, uint8_t type, uint8_t flags, uint32_t stream) {
  out.push_back(static_cast<uint8_t>(len >> 16));
  out.push_back(static_cast<uint8_t>(len >> 8));
  out.push_back(static_cast<uint8_t>(len));
  out.push_back(type);
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(stream >> 24));
  out.push_back(static_cast<uint8_t>(stream >> 16));
  out.push_back(static_cast<uint8_t>(stream >> 8));
  out.push_back(static_cast<uint8_t>(stream));
}

inline void frame(std::vector<uint8_t>& out, uint8_t type, uint8_t flags, uint32_t stream, std::string_view payload) {
  frame_header(out, payload.size(), type, flags, stream);
  out.insert(out.end(), payload.begin(), payload.end());
}

// Client stream ids 1, 3, 5, ... mostly; sometimes 0, an even id or a large one.
inline uint32_t stream_id(uint8_t b) {
  if (b >= 0xF8) return b == 0xFF ? 0 : b == 0xFE ? 2u : 0x7FFFFFF1u;
  return 1u + 2u * (b % 24);
}

inline std::string u32be(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

// The request's header block: each bit of `mask` includes (or, for the pseudo-headers, breaks) one field.
inline std::string header_block(nghttp2_hd_deflater* deflater, uint16_t mask, uint8_t size, fuzz::Reader& r) {
  std::vector<std::pair<std::string, std::string>> f;
  f.emplace_back(":method", (mask & 1) ? "GET" : "CONNECT");
  if (!(mask & 2)) f.emplace_back(":protocol", (mask & 0x400) ? "webtransport" : "websocket");
  if (!(mask & 4)) f.emplace_back(":scheme", "https");
  if (!(mask & 8)) f.emplace_back(":path", (mask & 0x800) ? std::string(r.bytes(size % 32)) : std::string("/chat?x=1"));
  if (!(mask & 16)) f.emplace_back(":authority", "example.com");
  if (!(mask & 32)) f.emplace_back("sec-websocket-version", (mask & 0x1000) ? "12" : "13");
  if (mask & 64) f.emplace_back("sec-websocket-protocol", "chat, superchat");
  if (mask & 128) f.emplace_back("sec-websocket-extensions", "permessage-deflate; client_max_window_bits");
  if (mask & 256) f.emplace_back((mask & 0x2000) ? "connection" : "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
  if (mask & 512) f.emplace_back("x-big", std::string(static_cast<size_t>(size) * ((mask & 0x4000) ? 400 : 4), 'v'));
  if (mask & 0x8000) f.emplace_back(std::string(r.bytes(size % 16)), std::string(r.bytes(size % 24)));
  std::vector<nghttp2_nv> nva;
  for (auto& [n, v] : f)
    nva.push_back({reinterpret_cast<uint8_t*>(n.data()), reinterpret_cast<uint8_t*>(v.data()), n.size(), v.size(),
                   NGHTTP2_NV_FLAG_NONE});
  std::string out(nghttp2_hd_deflate_bound(deflater, nva.data(), nva.size()), '\0');
  const nghttp2_ssize n = nghttp2_hd_deflate_hd2(deflater, reinterpret_cast<uint8_t*>(out.data()), out.size(), nva.data(), nva.size());
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

// `count` client WebSocket frames (masked; opcode and FIN from the input; payload up to 255 bytes).
inline std::string ws_frames(uint8_t count, fuzz::Reader& r) {
  std::string out;
  for (uint8_t i = 0; i < count % 8; i++) {
    const uint8_t b0 = r.u8();
    static constexpr uint8_t kOps[] = {0x1, 0x2, 0x0, 0x8, 0x9, 0xA, 0x1, 0x3};
    const uint8_t first = static_cast<uint8_t>(((b0 & 0x80) ? 0x80 : 0) | kOps[b0 & 7] | ((b0 & 0x40) ? 0x40 : 0));
    std::string payload(r.bytes(r.u8()));
    if ((first & 0x0F) == 0x8 && payload.size() == 1) payload.clear();
    out.push_back(static_cast<char>(first));
    if (payload.size() < 126) {
      out.push_back(static_cast<char>(0x80 | payload.size()));
    } else {
      out.push_back(static_cast<char>(0x80 | 126));
      out.push_back(static_cast<char>(payload.size() >> 8));
      out.push_back(static_cast<char>(payload.size()));
    }
    const uint8_t key[4] = {0x37, 0xFA, 0x21, 0x3D};
    out.append(reinterpret_cast<const char*>(key), 4);
    for (size_t k = 0; k < payload.size(); k++) out.push_back(static_cast<char>(payload[k] ^ key[k & 3]));
  }
  return out;
}

inline void loop_done(void* arg) { *static_cast<bool*>(arg) = true; }

inline int fuzz_one(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  Harness h;
  FUZZ_CHECK(uv_loop_init(&h.uv) == 0);
  h.loop = std::make_unique<Loop>(&h.uv, &simd::scalar_mask_kernel(), nullptr);
  auto config = std::make_shared<SocketConfig>();
  config->http2.enabled = true;
  config->http2.cleartext = true;
  config->http2.max_streams = 8;
  config->http2.window_size = 4096;
  config->http2.connection_window_size = 16384;
  config->connection.max_message_size = 4096;
  config->max_backpressure = 8192;
  config->head_limits.max_head_size = 8192;
  config->deflate_server.enabled = true;
  nghttp2_hd_deflater* deflater = nullptr;
  FUZZ_CHECK(nghttp2_hd_deflate_new(&deflater, 4096) == 0);

  static constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  const bool preface = size == 0 || data[0] != 0xFF;
  if (preface) {
    h.input.insert(h.input.end(), kPreface.begin(), kPreface.end());
    frame(h.input, 0x4, 0, 0, {});  // empty SETTINGS
  } else {
    r.u8();
  }
  // The session starts on the first read (as the listener hands it the bytes that said HTTP/2).
  auto first = std::make_unique<FakeLink>(h);
  h.link = first.get();
  {
    const size_t n = std::min<size_t>(h.input.size(), Loop::kReceiveBufferSize);
    uint8_t* buf = h.loop->receive_buffer();
    std::copy_n(h.input.data(), n, buf);
    h.input_off = n;
    H2Session::create_server(*h.loop, std::move(first), config, &h, SocketAddress{"127.0.0.1", 1234, 4}, buf, n);
  }
  bool ended = false;
  for (int ops = 0; r.remaining() > 0 && ops < 512 && !ended; ops++) {
    const uint8_t op = r.u8() % 16;
    switch (op) {
      case 0: {  // HEADERS (+ CONTINUATION)
        const uint32_t sid = stream_id(r.u8());
        const uint8_t flags = r.u8();
        const uint16_t mask = r.u16();
        const uint8_t sz = r.u8();
        const std::string block = header_block(deflater, mask, sz, r);
        const size_t cut = (flags & 0x80) ? std::min<size_t>(block.size(), flags & 0x3F) : block.size();
        frame(h.input, 0x1, static_cast<uint8_t>((cut == block.size() ? 0x4 : 0) | (flags & 0x1)), sid, std::string_view(block).substr(0, cut));
        if (cut < block.size()) frame(h.input, 0x9, 0x4, (flags & 0x40) ? sid + 2 : sid, std::string_view(block).substr(cut));
        break;
      }
      case 1: {  // DATA carrying WebSocket frames
        const uint32_t sid = stream_id(r.u8());
        const uint8_t flags = r.u8();
        const std::string payload = ws_frames(r.u8(), r);
        if (flags & 0x8) {  // padded
          std::string padded(1, static_cast<char>(flags >> 4));
          padded += payload;
          padded.append(flags >> 4, '\0');
          frame(h.input, 0x0, static_cast<uint8_t>(0x8 | (flags & 0x1)), sid, padded);
        } else {
          frame(h.input, 0x0, flags & 0x1, sid, payload);
        }
        break;
      }
      case 2: {
        const uint32_t sid = stream_id(r.u8());
        frame(h.input, 0x3, 0, sid, u32be(r.u8() % 16));
        break;
      }
      case 3: {
        const uint8_t b = r.u8();
        const uint32_t sid = (b & 1) ? 0 : stream_id(b);
        frame(h.input, 0x8, 0, sid, u32be(static_cast<uint32_t>(r.u16()) * ((b & 2) ? 1024 : 1)));
        break;
      }
      case 4: {
        const uint8_t count = r.u8();
        if (count & 0x80) {
          frame(h.input, 0x4, 0x1, 0, {});
          break;
        }
        std::string p;
        for (uint8_t i = 0; i < count % 6; i++) {
          const uint8_t id = static_cast<uint8_t>(1 + r.u8() % 8);
          p += static_cast<char>(0);
          p += static_cast<char>(id);
          p += u32be(static_cast<uint32_t>(r.u16()) * ((id == 4 || id == 5) ? 4 : 1));
        }
        frame(h.input, 0x4, 0, 0, p);
        break;
      }
      case 5:
        frame(h.input, 0x6, r.u8() & 1, 0, std::string(8, 'p'));
        break;
      case 6:
        frame(h.input, 0x7, 0, 0, u32be(stream_id(r.u8())) + u32be(r.u8() % 14));
        break;
      case 7: {
        const uint32_t sid = stream_id(r.u8());
        frame(h.input, 0x2, 0, sid, u32be(stream_id(r.u8())) + std::string(1, static_cast<char>(r.u8())));
        break;
      }
      case 8: {
        const uint8_t type = r.u8() % 12, flags = r.u8();
        const uint32_t sid = stream_id(r.u8());
        frame(h.input, type, flags, sid, r.bytes(r.u8()));
        break;
      }
      case 9: {
        const std::string_view raw = r.bytes(r.u8() % 32);
        h.input.insert(h.input.end(), raw.begin(), raw.end());
        break;
      }
      case 10: {  // a read, if the session reads now
        const size_t want = static_cast<size_t>(r.u16()) + 1;
        if (h.link == nullptr || h.link->events_ == nullptr || !h.link->wants_read_ || h.link->closed_) break;
        const size_t n = std::min({want, h.input.size() - h.input_off, Loop::kReceiveBufferSize});
        if (n == 0) break;
        uint8_t* buf = h.loop->receive_buffer();
        std::copy_n(h.input.data() + h.input_off, n, buf);
        h.input_off += n;
        h.link->events_->on_link_data(buf, n);
        break;
      }
      case 11:
        h.turn();
        break;
      case 12: {
        const uint16_t b = r.u16();
        if (h.link == nullptr) break;
        h.link->budget_ = b == 0xFFFF ? SIZE_MAX : b;
        if (h.link->wants_write_ && !h.link->closed_ && h.link->events_ != nullptr) h.link->events_->on_link_writable();
        break;
      }
      case 13: {  // the application decides on a pending request
        const uint8_t which = r.u8(), how = r.u8();
        if (h.pending.empty()) break;
        Endpoint* e = h.pending[which % h.pending.size()];
        h.pending.erase(std::find(h.pending.begin(), h.pending.end(), e));
        if (how & 1) {
          e->reject(400 + how % 100, "no", {});
          break;
        }
        h.apps.push_back(std::make_unique<App>());  // listed first: accept or reject may end the endpoint at once
        App* app = h.apps.back().get();
        app->h = &h;
        app->ep = e;
        app->echo = !(how & 2);
        handshake::AcceptOptions options;
        const std::string ext = (how & 4) ? "permessage-deflate" : "";
        options.extensions = ext;
        options.subprotocol = (how & 8) ? std::string_view("chat") : std::string_view();
        if (e->accept(app, options) == handshake::BuildError::None) {
          if (app->ep != nullptr) e->start();
        } else {
          e->reject(500, "", {});
        }
        break;
      }
      case 14: {  // the application acts on an open WebSocket
        const uint8_t which = r.u8(), what = r.u8(), sz = r.u8();
        std::vector<App*> open;
        for (auto& a : h.apps)
          if (a->ep != nullptr && a->ep->is_open()) open.push_back(a.get());
        if (open.empty()) break;
        Endpoint* e = open[which % open.size()]->ep;
        switch (what % 8) {
          case 0: {
            std::string payload(static_cast<size_t>(sz) * 97, 'a');
            auto copy = std::make_unique<io::CopiedBytes>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
            const std::span<const uint8_t> bytes(copy->mem.get(), payload.size());
            e->send(protocol::Opcode::Binary, bytes, std::move(copy));
            break;
          }
          case 1: e->ping({}); break;
          case 2: e->close(1000 + sz % 16, {}); break;
          case 3: e->terminate(); break;
          case 4: e->pause_reading(); break;
          case 5: e->resume_reading(); break;
          case 6: e->flush(); break;
          case 7: {
            bool changed = false;
            e->subscribe("t", &changed);
            const std::string msg(sz, 'm');
            publish(*h.loop, "t", protocol::Opcode::Text, {reinterpret_cast<const uint8_t*>(msg.data()), msg.size()}, true, nullptr);
            break;
          }
        }
        break;
      }
      case 15:  // [b]: odd: the server closes (GOAWAY, the session ends with its last stream); even: EOF now
        if ((r.u8() & 1) && h.session != nullptr) {
          h.session->close_gracefully();
        } else {
          ended = true;
        }
        break;
    }
  }
  // The peer goes away (or the link fails); everything must unwind.
  if (h.link != nullptr && !h.link->closed_ && h.link->events_ != nullptr) {
    if (r.u8() & 1) h.link->events_->on_link_eof(0);
    else h.link->events_->on_link_failed(LinkFailure{"ECONNRESET", "fuzz"});
  }
  h.turn();
  if (std::getenv("SOCKUDO_FUZZ_TRACE") != nullptr) {  // what a seed reached (node scripts/fuzz.js --replay)
    std::fprintf(stderr, "h2 trace: %zu bytes read of %zu, %llu written, %zu accepted:", h.input_off, h.input.size(),
                 static_cast<unsigned long long>(h.written), h.apps.size());
    for (auto& a : h.apps) std::fprintf(stderr, " [%zu messages, close %u]", a->messages, a->close_code);
    std::fprintf(stderr, "\n");
  }
  bool done = false;
  h.loop->shutdown(&loop_done, &done);
  for (int i = 0; i < 64 && !done; i++) h.turn();
  FUZZ_CHECK(done);
  FUZZ_CHECK(h.session == nullptr);
  FUZZ_CHECK(h.live.empty());
  for (auto& a : h.apps) FUZZ_CHECK(a->ep == nullptr);
  h.loop.reset();
  uv_run(&h.uv, UV_RUN_NOWAIT);
  FUZZ_CHECK(uv_loop_close(&h.uv) == 0);
  nghttp2_hd_deflate_del(deflater);
  return 0;
}

}  // namespace fuzz_h2_session
