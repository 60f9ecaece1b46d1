// fuzz_h3_session: the HTTP/3 layer (transport/h3_session.cc, h3_stream_link.cc, h3_client_session.cc
// and the endpoints on their streams) with both ends ours, in one process on a real libuv loop:
// our client session and our server session exchange real, encrypted QUIC datagrams through two
// queues the script controls — each delivered, dropped, duplicated, truncated or bit-flipped (an
// AEAD-rejected packet, a broken header), in any interleaving with loop turns and the
// application's actions on both ends. Garbage datagrams go to the server too. A fuzzer cannot
// forge QUIC's encryption, so the peer is our own client; what it varies is everything around it.
//
// Input: a script of operations, an opcode byte (modulo 12) and its operands:
//   0 c→s [how]  1 s→c [how]: the next queued datagram: how%8 = 0-3 deliver, 4 drop, 5 deliver
//     twice, 6 deliver truncated to how/8*7 bytes, 7 deliver with one byte flipped
//   2 loop turn (flushes, timers already due)        3 the client opens a WebSocket [path byte]
//   4 the server application decides [which][how]    5 server action [which][what][size]
//   6 client action [which][what][size]              7 the server closes gracefully
//   8 a garbage datagram to the server [len][bytes]  9 the client closes its session
//  10 the client's datagrams are all lost from now on (or back)   11 end
//
// Properties: no sanitizer report and no leak after both sessions end and the loop shuts down;
// each WebSocket's on_close at most once and nothing after it; no endpoint reported gone twice.
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/simd/mask.h"
#include "fuzz_common.h"
#include "transport/endpoint.h"
#include "transport/event_loop.h"
#include "transport/h3_session.h"
#include "transport/quic_endpoint.h"
#include "transport/tls_context.h"

namespace fuzz_h3_session {

using namespace sockudo;
using namespace sockudo::transport;

// A self-signed P-256 certificate and its key (PEM), made once per process.
inline const std::pair<std::string, std::string>& certificate() {
  static const std::pair<std::string, std::string> pem = [] {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    auto to_string = [](BIO* b) {
      char* data = nullptr;
      const long n = BIO_get_mem_data(b, &data);
      std::string s(data, static_cast<size_t>(n));
      BIO_free(b);
      return s;
    };
    BIO* cb = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(cb, cert);
    BIO* kb = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(kb, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::pair<std::string, std::string> out{to_string(cb), to_string(kb)};
    X509_free(cert);
    EVP_PKEY_free(key);
    return out;
  }();
  return pem;
}

struct Harness;

// One side's UDP: what it sends is queued for the other side.
class FakeUdp final : public QuicEndpoint {
 public:
  FakeUdp(Harness& h, bool server) : h_(h), server_(server) {
    for (size_t i = 0; i < kSecretLen; i++) secret_[i] = static_cast<uint8_t>(i * 7 + (server ? 1 : 2));
  }
  void route(const ngtcp2_cid&, H3Session*) override {}
  void unroute(const ngtcp2_cid&) override {}
  void handshake_finished(H3Session*) override {}
  void session_gone(H3Session* s) override;
  int send(const sockaddr*, socklen_t, const uint8_t* data, size_t len, size_t segment) override;
  void wait_writable(H3Session*) override {}
  const uint8_t* secret() const override { return secret_; }
  uint8_t* packet_buffer() override { return buffer_.get(); }

  Harness& h_;
  bool server_;
  uint8_t secret_[kSecretLen];
  std::unique_ptr<uint8_t[]> buffer_ = std::make_unique<uint8_t[]>(kPacketBufferSize);
};

struct ServerApp final : SocketHandler {
  Endpoint* ep = nullptr;
  bool closed = false;
  void on_message(protocol::Opcode op, std::span<const uint8_t> data, bool) override {
    FUZZ_CHECK(!closed);
    if (ep == nullptr) return;
    auto copy = std::make_unique<io::CopiedBytes>(data.data(), data.size());
    const std::span<const uint8_t> bytes(copy->mem.get(), data.size());
    ep->send(op, bytes, std::move(copy));
  }
  void on_ping(std::span<const uint8_t>) override { FUZZ_CHECK(!closed); }
  void on_pong(std::span<const uint8_t>) override { FUZZ_CHECK(!closed); }
  void on_close(uint16_t, std::span<const uint8_t>) override {
    FUZZ_CHECK(!closed);
    closed = true;
  }
  void on_error(protocol::ProtocolError) override { FUZZ_CHECK(!closed); }
  void on_drain() override {}
  void on_client_open() override { FUZZ_CHECK(false); }
  void on_client_failed(const ClientFailure&) override { FUZZ_CHECK(false); }
  double on_external_write(std::span<const io::Slice>) override { FUZZ_CHECK(false); }
  void on_external_flow(bool) override {}
  void on_external_end() override {}
  void on_detached() override { ep = nullptr; }
};

struct ClientApp final : SocketHandler {
  Endpoint* ep = nullptr;
  bool open = false, failed = false, closed = false;
  void on_message(protocol::Opcode, std::span<const uint8_t>, bool) override { FUZZ_CHECK(!closed); }
  void on_ping(std::span<const uint8_t>) override { FUZZ_CHECK(!closed); }
  void on_pong(std::span<const uint8_t>) override { FUZZ_CHECK(!closed); }
  void on_close(uint16_t, std::span<const uint8_t>) override {
    FUZZ_CHECK(!closed);
    closed = true;
  }
  void on_error(protocol::ProtocolError) override { FUZZ_CHECK(!closed); }
  void on_drain() override {}
  void on_client_open() override {
    FUZZ_CHECK(!open && !failed);
    open = true;
    if (ep != nullptr) ep->start();
  }
  void on_client_failed(const ClientFailure&) override {
    FUZZ_CHECK(!open && !failed);
    failed = true;
  }
  double on_external_write(std::span<const io::Slice>) override { FUZZ_CHECK(false); }
  void on_external_flow(bool) override {}
  void on_external_end() override {}
  void on_detached() override { ep = nullptr; }
};

struct Harness final : ServerHandler, SessionClientHandler {
  uv_loop_t uv{};
  std::unique_ptr<Loop> loop;
  std::unique_ptr<FakeUdp> server_udp, client_udp;
  H3Session* server = nullptr;  // null until the first Initial, and once gone
  H3Session* client = nullptr;
  bool client_ready = false, client_done = false;
  bool client_lost = false;  // the client's datagrams are all dropped
  std::deque<std::string> c2s, s2c;
  std::vector<Endpoint*> pending, live;
  std::vector<std::unique_ptr<ServerApp>> server_apps;
  std::vector<std::unique_ptr<ClientApp>> client_apps;
  std::shared_ptr<SocketConfig> config;
  sockaddr_storage client_addr{}, server_addr{};
  socklen_t client_len = 0, server_len = 0;

  ngtcp2_path path_to_server() {
    return {{reinterpret_cast<ngtcp2_sockaddr*>(&server_addr), server_len}, {reinterpret_cast<ngtcp2_sockaddr*>(&client_addr), client_len}, nullptr};
  }
  ngtcp2_path path_to_client() {
    return {{reinterpret_cast<ngtcp2_sockaddr*>(&client_addr), client_len}, {reinterpret_cast<ngtcp2_sockaddr*>(&server_addr), server_len}, nullptr};
  }

  // ServerHandler
  void on_socket_created(Endpoint& e) override { live.push_back(&e); }
  void on_upgrade_request(Endpoint& e, const handshake::HeaderList&, const handshake::UpgradeRequest&) override { pending.push_back(&e); }
  void on_handshake_rejected(Endpoint&, int) override {}
  void on_socket_gone(Endpoint& e) override {
    auto it = std::find(live.begin(), live.end(), &e);
    FUZZ_CHECK(it != live.end());
    live.erase(it);
    pending.erase(std::remove(pending.begin(), pending.end(), &e), pending.end());
    for (auto& a : server_apps)
      if (a->ep == &e) a->ep = nullptr;
  }
  void on_session_created(H2Session&) override { FUZZ_CHECK(false); }
  void on_session_gone(H2Session&) override { FUZZ_CHECK(false); }
  // SessionClientHandler
  void on_session_ready(bool connect_protocol) override {
    FUZZ_CHECK(connect_protocol);
    FUZZ_CHECK(!client_ready && !client_done);
    client_ready = true;
  }
  void on_session_failed(const ClientFailure&) override {
    FUZZ_CHECK(!client_ready && !client_done);
    client_done = true;
  }
  void on_session_closed() override {
    FUZZ_CHECK(client_ready && !client_done);
    client_done = true;
  }

  void deliver_to_server(const std::string& d) {
    std::string copy = d;
    auto* data = reinterpret_cast<uint8_t*>(copy.data());
    ngtcp2_pkt_info pi{};
    ngtcp2_path path = path_to_server();
    if (server == nullptr) {
      ngtcp2_pkt_hd hd;
      if (ngtcp2_accept(&hd, data, copy.size()) != 0) return;
      H3Session::Accepted a{};
      a.dcid = hd.dcid;
      a.scid = hd.scid;
      a.version = hd.version;
      server = H3Session::create(*server_udp, *loop, config, this, a, path);
      if (server == nullptr) return;
    }
    server->receive(path, pi, data, copy.size());
  }
  void deliver_to_client(const std::string& d) {
    if (client == nullptr) return;
    std::string copy = d;
    ngtcp2_pkt_info pi{};
    ngtcp2_path path = path_to_client();
    client->receive(path, pi, reinterpret_cast<uint8_t*>(copy.data()), copy.size());
  }
  // One loop turn. The Loop's own handles are unreferenced (they must not keep Node alive), so an
  // active timer stands in for the rest of a real process's handles; otherwise uv_run would find
  // the loop dead and run nothing.
  uv_timer_t keepalive{};
  void turn() { uv_run(&uv, UV_RUN_NOWAIT); }
};

inline void FakeUdp::session_gone(H3Session* s) {
  if (server_ && h_.server == s) h_.server = nullptr;
  if (!server_ && h_.client == s) h_.client = nullptr;
}

inline int FakeUdp::send(const sockaddr*, socklen_t, const uint8_t* data, size_t len, size_t segment) {
  auto& q = server_ ? h_.s2c : h_.c2s;
  if (!server_ && h_.client_lost) return 0;
  const size_t seg = segment == 0 || segment > len ? len : segment;
  for (size_t off = 0; off < len && q.size() < 4096; off += seg) q.emplace_back(reinterpret_cast<const char*>(data + off), std::min(seg, len - off));
  return 0;
}

// Delivers the next datagram of `q` as `how` says.
template <typename Deliver>
void deliver(std::deque<std::string>& q, uint8_t how, Deliver&& to) {
  if (q.empty()) return;
  std::string d = std::move(q.front());
  q.pop_front();
  switch (how % 8) {
    case 4: return;  // lost
    case 5:
      to(d);
      to(d);
      return;
    case 6:
      d.resize(std::min<size_t>(d.size(), static_cast<size_t>(how / 8) * 7));
      to(d);
      return;
    case 7:
      if (!d.empty()) d[(how / 8) % d.size()] ^= static_cast<char>(0x5a);
      to(d);
      return;
    default:
      to(d);
  }
}

inline void loop_done(void* arg) { *static_cast<bool*>(arg) = true; }

inline int fuzz_one(const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  Harness h;
  FUZZ_CHECK(uv_loop_init(&h.uv) == 0);
  h.loop = std::make_unique<Loop>(&h.uv, &simd::scalar_mask_kernel(), nullptr);
  uv_timer_init(&h.uv, &h.keepalive);
  uv_timer_start(&h.keepalive, [](uv_timer_t*) {}, 3600 * 1000, 0);
  h.server_udp = std::make_unique<FakeUdp>(h, true);
  h.client_udp = std::make_unique<FakeUdp>(h, false);
  parse_numeric_address("127.0.0.1", 4433, h.server_addr, h.server_len);
  parse_numeric_address("127.0.0.1", 50000, h.client_addr, h.client_len);

  h.config = std::make_shared<SocketConfig>();
  h.config->http3.enabled = true;
  h.config->http3.max_streams = 8;
  h.config->http3.window_size = 16384;
  h.config->http3.connection_window_size = 65536;
  h.config->connection.max_message_size = 8192;
  h.config->max_backpressure = 65536;
  h.config->deflate_server.enabled = true;
  const auto& [cert, key] = certificate();
  TlsOptions so;
  so.certs = {cert};
  so.keys = {key};
  so.alpn = {"h3"};
  so.quic = true;
  LinkFailure failure;
  auto server_ctx = TlsContext::create(so, &failure);
  FUZZ_CHECK(server_ctx != nullptr);
  h.config->http3.tls = std::make_shared<TlsServer>();
  h.config->http3.tls->current = std::make_shared<TlsServerContexts>(server_ctx, std::vector<std::pair<std::string, std::shared_ptr<TlsContext>>>{});
  TlsOptions co;
  co.server = false;
  co.reject_unauthorized = false;
  TlsClientParams client_tls{TlsContext::create(co, &failure), "localhost"};
  FUZZ_CHECK(client_tls.context != nullptr);

  ngtcp2_path cpath = h.path_to_client();
  h.client = H3Session::create_client_on(*h.client_udp, *h.loop, cpath, h.config, client_tls, &h, &failure);
  FUZZ_CHECK(h.client != nullptr);
  h.turn();

  bool ended = false;
  for (int ops = 0; r.remaining() > 0 && ops < 1024 && !ended; ops++) {
    switch (r.u8() % 12) {
      case 0:
        deliver(h.c2s, r.u8(), [&](const std::string& d) { h.deliver_to_server(d); });
        break;
      case 1:
        deliver(h.s2c, r.u8(), [&](const std::string& d) { h.deliver_to_client(d); });
        break;
      case 2:
        h.turn();
        break;
      case 3: {  // the client opens a WebSocket
        const uint8_t b = r.u8();
        if (h.client == nullptr || !h.client_ready || h.client_done) break;
        handshake::ClientRequestOptions req;
        const std::string path = b & 1 ? "/" : "/x?" + std::to_string(b);
        req.path = path;
        req.host = "localhost";
        req.secure = true;
        static constexpr std::string_view kChat[] = {"chat"};
        if (b & 2) req.protocols = kChat;
        auto hs = std::make_unique<handshake::ClientHandshake>(h.config->head_limits);
        std::vector<handshake::OwnedField> fields;
        if (hs->build_connect(req, fields) != handshake::BuildError::None) break;
        h.client_apps.push_back(std::make_unique<ClientApp>());
        ClientApp* app = h.client_apps.back().get();
        app->ep = h.client->open_websocket(fields, std::move(hs), app);
        break;
      }
      case 4: {  // the server application decides
        const uint8_t which = r.u8(), how = r.u8();
        if (h.pending.empty()) break;
        Endpoint* e = h.pending[which % h.pending.size()];
        h.pending.erase(std::find(h.pending.begin(), h.pending.end(), e));
        if (how & 1) {
          e->reject(400 + how % 100, "no", {});
          break;
        }
        h.server_apps.push_back(std::make_unique<ServerApp>());
        ServerApp* app = h.server_apps.back().get();
        app->ep = e;
        handshake::AcceptOptions options;
        options.subprotocol = (how & 2) ? std::string_view("chat") : std::string_view();
        if (e->accept(app, options) == handshake::BuildError::None) {
          if (app->ep != nullptr) e->start();
        } else {
          e->reject(500, "", {});
        }
        break;
      }
      case 5:
      case 6: {  // an action on an open WebSocket, server (5) or client (6) side
        const bool server_side = (r.u8() & 1) == 0;
        const uint8_t which = r.u8(), what = r.u8(), sz = r.u8();
        std::vector<Endpoint*> open;
        if (server_side) {
          for (auto& a : h.server_apps)
            if (a->ep != nullptr && a->ep->is_open()) open.push_back(a->ep);
        } else {
          for (auto& a : h.client_apps)
            if (a->ep != nullptr && a->ep->is_open()) open.push_back(a->ep);
        }
        if (open.empty()) break;
        Endpoint* e = open[which % open.size()];
        switch (what % 6) {
          case 0: {
            std::string payload(static_cast<size_t>(sz) * 61, 'a');
            auto copy = std::make_unique<io::CopiedBytes>(reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
            const std::span<const uint8_t> bytes(copy->mem.get(), payload.size());
            e->send(protocol::Opcode::Binary, bytes, std::move(copy));
            break;
          }
          case 1: e->close(1000 + sz % 16, {}); break;
          case 2: e->terminate(); break;
          case 3: e->pause_reading(); break;
          case 4: e->resume_reading(); break;
          case 5: e->ping({}); break;
        }
        break;
      }
      case 7:
        if (h.server != nullptr) h.server->close_gracefully();
        break;
      case 8: {  // garbage to the server
        const std::string_view g = r.bytes(r.u8());
        if (h.server != nullptr && !g.empty()) h.deliver_to_server(std::string(g));
        break;
      }
      case 9:
        if (h.client != nullptr) h.client->detach_client();
        break;
      case 10:
        h.client_lost = !h.client_lost;
        break;
      case 11:
        ended = true;
        break;
    }
  }
  if (std::getenv("SOCKUDO_FUZZ_VERBOSE") != nullptr) {  // how far a script got (for writing seeds)
    size_t opened = 0, accepted = h.server_apps.size();
    for (auto& a : h.client_apps) opened += a->open ? 1 : 0;
    std::fprintf(stderr, "h3 script: client ready %d, %zu WebSockets opened by the client, %zu accepted, %zu/%zu datagrams queued\n",
                 h.client_ready, opened, accepted, h.c2s.size(), h.s2c.size());
  }
  // Both ends go away; everything must unwind.
  if (h.client != nullptr) h.client->destroy();
  if (h.server != nullptr) h.server->destroy();
  h.turn();
  uv_close(reinterpret_cast<uv_handle_t*>(&h.keepalive), nullptr);
  bool done = false;
  h.loop->shutdown(&loop_done, &done);
  while (!done) uv_run(&h.uv, UV_RUN_ONCE);
  h.loop.reset();
  FUZZ_CHECK(uv_loop_close(&h.uv) == 0);
  FUZZ_CHECK(h.live.empty());
  return 0;
}

}  // namespace fuzz_h3_session
