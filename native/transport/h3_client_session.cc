// H3Session's client role (h3_session.h): connecting over the connection's own UDP socket
// (quic_client.h), TLS 1.3 with ALPN "h3" and the server verified as a TLS link verifies it,
// the failures reported before the server's SETTINGS, and opening a WebSocket on a new request
// stream with extended CONNECT (RFC 9220 §3).
#include <arpa/inet.h>
#include <ngtcp2/ngtcp2_crypto_ossl.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "transport/errno_name.h"
#include "transport/event_loop.h"
#include "transport/h3_session.h"
#include "transport/os_random.h"
#include "transport/quic_client.h"

namespace sockudo::transport {

namespace {

constexpr unsigned char kAlpnH3[] = {2, 'h', '3'};

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

H3Session* H3Session::create_client(Loop& loop, const std::string& ip, uint16_t port, std::shared_ptr<const SocketConfig> config,
                                    const TlsClientParams& tls, SessionClientHandler* handler, int* error, LinkFailure* failure) {
  QuicClient* udp = QuicClient::open(loop, ip, port, error);
  if (udp == nullptr) return nullptr;
  ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&udp->local())), udp->local_len()},
                   {reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&udp->remote())), udp->remote_len()},
                   nullptr};
  H3Session* s = create_client_on(*udp, loop, path, std::move(config), tls, handler, failure);
  if (s == nullptr) {
    udp->discard();
    *error = -EPROTO;
    return nullptr;
  }
  udp->attach(s);
  return s;
}

H3Session* H3Session::create_client_on(QuicEndpoint& quic, Loop& loop, const ngtcp2_path& path,
                                       std::shared_ptr<const SocketConfig> config, const TlsClientParams& tls,
                                       SessionClientHandler* handler, LinkFailure* failure) {
  auto* s = new H3Session(quic, loop, std::move(config), nullptr, path);
  s->client_role_ = true;
  if (!s->start_client(tls, path, failure)) {
    s->closed_ = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&s->timer_), &H3Session::on_timer_closed);
    return nullptr;
  }
  s->client_ = handler;
  s->mark_dirty();  // the first Initial leaves with this turn's flush
  return s;
}

bool H3Session::start_client(const TlsClientParams& tls, const ngtcp2_path& path, LinkFailure* failure) {
  const auto& h3 = config_->http3;
  client_tls_ = tls.context;
  if (!client_tls_) {
    *failure = {"ERR_TLS_INVALID_CONTEXT", "HTTP/3 needs a TLS client context"};
    return false;
  }
  static constexpr ngtcp2_callbacks kCallbacks = [] {
    ngtcp2_callbacks c{};
    c.client_initial = ngtcp2_crypto_client_initial_cb;
    c.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    c.handshake_completed = [](ngtcp2_conn*, void* user_data) { return static_cast<H3Session*>(user_data)->on_handshake_completed(); };
    c.encrypt = ngtcp2_crypto_encrypt_cb;
    c.decrypt = ngtcp2_crypto_decrypt_cb;
    c.hp_mask = ngtcp2_crypto_hp_mask_cb;
    c.recv_stream_data = [](ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t, const uint8_t* data, size_t len, void* user_data, void*) {
      return static_cast<H3Session*>(user_data)->on_stream_data(flags, id, data, len);
    };
    c.acked_stream_data_offset = [](ngtcp2_conn*, int64_t id, uint64_t, uint64_t len, void* user_data, void*) {
      return static_cast<H3Session*>(user_data)->on_acked_stream_data(id, len);
    };
    c.stream_close = [](ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t code, void* user_data, void*) {
      return static_cast<H3Session*>(user_data)->on_stream_close(flags, id, code);
    };
    c.recv_retry = ngtcp2_crypto_recv_retry_cb;
    c.rand = [](uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { OsRandom().fill(dest, len); };
    c.update_key = ngtcp2_crypto_update_key_cb;
    c.stream_reset = [](ngtcp2_conn*, int64_t id, uint64_t, uint64_t code, void* user_data, void*) {
      return static_cast<H3Session*>(user_data)->on_stream_reset(id, code);
    };
    c.extend_max_stream_data = [](ngtcp2_conn*, int64_t id, uint64_t, void* user_data, void*) {
      return static_cast<H3Session*>(user_data)->on_extend_max_stream_data(id);
    };
    c.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    c.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    c.stream_stop_sending = [](ngtcp2_conn*, int64_t id, uint64_t code, void* user_data, void*) {
      return static_cast<H3Session*>(user_data)->on_stream_stop_sending(id, code);
    };
    c.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    c.get_new_connection_id2 = [](ngtcp2_conn*, ngtcp2_cid* cid, ngtcp2_stateless_reset_token* token, size_t len, void* user_data) {
      return static_cast<H3Session*>(user_data)->on_new_connection_id(cid, token, len);
    };
    c.get_path_challenge_data2 = ngtcp2_crypto_get_path_challenge_data2_cb;
    return c;
  }();

  ngtcp2_cid dcid, scid;
  dcid.datalen = kScidLen;  // RFC 9000 §7.2: at least 8 unpredictable bytes
  OsRandom().fill(dcid.data, dcid.datalen);
  scid.datalen = kScidLen;
  OsRandom().fill(scid.data, scid.datalen);

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = uv_hrtime();
  if (config_->handshake_timeout_ms > 0) settings.handshake_timeout = config_->handshake_timeout_ms * NGTCP2_MILLISECONDS;
  settings.max_window = h3.connection_window_size;
  settings.max_stream_window = h3.window_size;

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_bidi = 0;  // RFC 9114 §6.1: a server opens no request streams
  params.initial_max_streams_uni = 3;
  params.initial_max_stream_data_bidi_local = h3.window_size;
  params.initial_max_stream_data_uni = 64 * 1024;
  params.initial_max_data = h3.connection_window_size;
  params.max_idle_timeout = h3.idle_timeout_ms * NGTCP2_MILLISECONDS;

  if (ngtcp2_conn_client_new(&conn_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &kCallbacks, &settings, &params, nullptr, this) != 0) {
    *failure = {"ERR_SOCKUDO_WS_HTTP3_FAILED", "cannot create the QUIC connection"};
    return false;
  }
  ssl_ = SSL_new(client_tls_->ctx());
  if (ssl_ == nullptr || ngtcp2_crypto_ossl_ctx_new(&ossl_, ssl_) != 0 || ngtcp2_crypto_ossl_configure_client_session(ssl_) != 0) {
    *failure = openssl_failure("cannot create the QUIC TLS state");
    return false;
  }
  app_data_.ref.get_conn = [](ngtcp2_crypto_conn_ref* ref) { return static_cast<H3Session*>(ref->user_data)->conn_for_tls(); };
  app_data_.ref.user_data = this;
  app_data_.contexts = nullptr;
  SSL_set_app_data(ssl_, &app_data_.ref);
  SSL_set_connect_state(ssl_);
  SSL_set_alpn_protos(ssl_, kAlpnH3, sizeof kAlpnH3);  // RFC 9114 §3.1
  const std::string& host = tls.servername;
  bool ok = true;
  if (!host.empty()) {
    // As TlsLink: no SNI for an address (RFC 6066 §3); the certificate must name what we dialled.
    if (is_ip_literal(host)) ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), host.c_str()) == 1;
    else ok = SSL_set_tlsext_host_name(ssl_, host.c_str()) == 1 && SSL_set1_host(ssl_, host.c_str()) == 1;
  }
  if (!ok) {
    *failure = openssl_failure("invalid servername");
    return false;
  }
  ngtcp2_conn_set_tls_native_handle(conn_, ossl_);
  return true;
}

// The server's certificate, checked once the handshake is done (as TlsLink does), so the failure
// carries Node's code and rejectUnauthorized: false can go on.
bool H3Session::verify_server() {
  const long v = SSL_get0_peer_certificate(ssl_) != nullptr ? SSL_get_verify_result(ssl_) : X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
  if (v == X509_V_OK || !client_tls_->reject_unauthorized()) return true;
  fail_client(verify_error_code(v), std::string("the server's certificate was refused: ") + X509_verify_cert_error_string(v));
  return false;
}

void H3Session::on_socket_error(int error) {
  if (closed_) return;
  if (client_role_ && !ready_)
    fail_client(errno_name(error, "ECONNREFUSED"), std::string("connect failed: ") + std::strerror(error));
  destroy();
}

Endpoint* H3Session::open_websocket(const std::vector<handshake::OwnedField>& fields, std::unique_ptr<handshake::ClientHandshake> hs,
                                    SocketHandler* handler) {
  if (closed_ || closing_ || going_away_ || !ready_ || h3_ == nullptr) return nullptr;
  int64_t id = -1;
  if (ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr) != 0) return nullptr;  // out of stream credit (MAX_STREAMS)
  std::vector<nghttp3_nv> nv;
  nv.reserve(fields.size());
  for (const auto& f : fields) {
    nv.push_back({reinterpret_cast<const uint8_t*>(f.name.data()), reinterpret_cast<const uint8_t*>(f.value.data()), f.name.size(),
                  f.value.size(), NGHTTP3_NV_FLAG_NONE});
  }
  auto* st = new H3Stream();
  st->session = this;
  st->id = id;
  st->has_endpoint = true;
  st->answered = true;  // a client stream is not answered by us
  nghttp3_data_reader reader{read_h3_data};
  if (nghttp3_conn_submit_request(h3_, id, nv.data(), nv.size(), &reader, st) != 0) {
    delete st;
    ngtcp2_conn_shutdown_stream(conn_, 0, id, NGHTTP3_H3_REQUEST_CANCELLED);
    return nullptr;
  }
  streams_[id] = st;
  mark_dirty();
  return Endpoint::create_client_stream(loop_, std::make_unique<H3StreamLink>(st), config_, std::move(hs), handler, remote_);
}

void H3Session::detach_client() {
  client_ = nullptr;
  close_gracefully();
}

// Reports a failure before the session was ready (once; the handler is not called again).
void H3Session::fail_client(std::string code, std::string message) {
  report_session_failure(client_, std::move(code), std::move(message));
}

}  // namespace sockudo::transport
