// H2Session's client role (h2_session.h): connecting (TCP, TLS with ALPN "h2", or cleartext prior
// knowledge), the failures reported before the server's SETTINGS, and opening a WebSocket on a
// new extended CONNECT stream (RFC 8441 §4).
#include <nghttp2/nghttp2.h>

#include <cerrno>
#include <string>
#include <vector>

#include "transport/event_loop.h"
#include "transport/h2_session.h"
#include "transport/tls_link.h"

namespace sockudo::transport {

H2Session* H2Session::create_client(Loop& loop, const std::string& ip, uint16_t port, std::shared_ptr<const SocketConfig> config,
                                    const TlsClientParams* tls, SessionClientHandler* handler, int* error, LinkFailure* failure) {
  std::unique_ptr<Link> link = connect_client_link(loop, ip, port, tls, error, failure, config->io_uring);
  if (!link) return nullptr;
  auto* s = new H2Session(loop, std::move(link), std::move(config), nullptr, SocketAddress{ip, port, ip.find(':') == std::string::npos ? 4 : 6});
  s->client_ = handler;
  if (!s->start()) {
    s->client_ = nullptr;
    s->destroy();
    *error = ENOMEM;
    return nullptr;
  }
  if (s->config_->handshake_timeout_ms > 0) {  // bounds connect, TLS and the server's SETTINGS
    s->idle_since_ = loop.now_ms();
  }
  s->update_wants();
  s->arm_timer();
  return s;
}

void H2Session::on_link_connected() {
  if (closed_ || client_ == nullptr) return;
  // RFC 9113 §3.2: over TLS, "h2" must have been agreed by ALPN.
  if (link_->encrypted() && link_->alpn() != "h2") {
    fail_client("ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED", "the server did not agree to HTTP/2 (ALPN \"" + std::string(link_->alpn()) + "\")");
    destroy();
    return;
  }
  mark_dirty();  // the preface and our SETTINGS
}

Endpoint* H2Session::open_websocket(const std::vector<handshake::OwnedField>& fields, std::unique_ptr<handshake::ClientHandshake> hs,
                                    SocketHandler* handler) {
  if (closed_ || going_away_ || !ready_) return nullptr;
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const auto& f : fields) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(f.name.data())), reinterpret_cast<uint8_t*>(const_cast<char*>(f.value.data())),
                  f.name.size(), f.value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  auto* st = new H2Stream();
  st->session = this;
  st->has_endpoint = true;
  st->answered = true;  // a client stream is not answered by us
  nghttp2_data_provider2 provider{};
  provider.source.ptr = st;
  provider.read_callback = H2StreamLink::read_websocket;
  const int32_t id = nghttp2_submit_request2(ng_, nullptr, nv.data(), nv.size(), &provider, st);
  if (id < 0) {
    delete st;
    return nullptr;
  }
  st->id = id;
  streams_.insert(st);
  idle_since_ = 0;
  arm_timer();
  mark_dirty();
  return Endpoint::create_client_stream(loop_, std::make_unique<H2StreamLink>(st), config_, std::move(hs), handler, remote_);
}

void H2Session::detach_client() {
  client_ = nullptr;
  close_gracefully();
}

// Reports a failure before the session was ready (once; the handler is not called again).
void H2Session::fail_client(std::string code, std::string message) {
  report_session_failure(client_, std::move(code), std::move(message));
}

}  // namespace sockudo::transport
