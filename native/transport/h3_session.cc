#include "transport/h3_session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ngtcp2/ngtcp2_crypto_ossl.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "transport/event_loop.h"
#include "transport/os_random.h"
#include "transport/quic_endpoint.h"

namespace sockudo::transport {

namespace {

constexpr size_t kMaxIov = 16;

// Whether a packet's destination is the batch's (address family, port and address).
bool same_destination(const ngtcp2_addr& a, const sockaddr_storage& b, socklen_t blen) {
  if (a.addrlen != blen || a.addr->sa_family != b.ss_family) return false;
  if (b.ss_family == AF_INET) {
    const auto* x = reinterpret_cast<const sockaddr_in*>(a.addr);
    const auto* y = reinterpret_cast<const sockaddr_in*>(&b);
    return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
  }
  const auto* x = reinterpret_cast<const sockaddr_in6*>(a.addr);
  const auto* y = reinterpret_cast<const sockaddr_in6*>(&b);
  return x->sin6_port == y->sin6_port && std::memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(in6_addr)) == 0;
}

H3Session* self(void* user_data) { return static_cast<H3Session*>(user_data); }
uint64_t now_ns() { return uv_hrtime(); }

std::string_view view(nghttp3_rcbuf* buf) {
  const nghttp3_vec v = nghttp3_rcbuf_get_buf(buf);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

SocketAddress address_of(const sockaddr* sa) {
  SocketAddress out;
  char ip[INET6_ADDRSTRLEN] = {0};
  if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
      inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], ip, sizeof ip);
      out.family = 4;
    } else {
      inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
      out.family = 6;
    }
    out.port = ntohs(in6->sin6_port);
  } else {
    const auto* in4 = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in4->sin_addr, ip, sizeof ip);
    out.family = 4;
    out.port = ntohs(in4->sin_port);
  }
  out.ip = ip;
  return out;
}

// --- ngtcp2 callbacks ---------------------------------------------------------------------------

int recv_stream_data(ngtcp2_conn*, uint32_t flags, int64_t stream_id, uint64_t, const uint8_t* data, size_t datalen,
                     void* user_data, void*) {
  return self(user_data)->on_stream_data(flags, stream_id, data, datalen);
}

int acked_stream_data_offset(ngtcp2_conn*, int64_t stream_id, uint64_t, uint64_t datalen, void* user_data, void*) {
  return self(user_data)->on_acked_stream_data(stream_id, datalen);
}

int stream_close(ngtcp2_conn*, uint32_t flags, int64_t stream_id, uint64_t app_error_code, void* user_data, void*) {
  return self(user_data)->on_stream_close(flags, stream_id, app_error_code);
}

int stream_reset(ngtcp2_conn*, int64_t stream_id, uint64_t, uint64_t app_error_code, void* user_data, void*) {
  return self(user_data)->on_stream_reset(stream_id, app_error_code);
}

int stream_stop_sending(ngtcp2_conn*, int64_t stream_id, uint64_t app_error_code, void* user_data, void*) {
  return self(user_data)->on_stream_stop_sending(stream_id, app_error_code);
}

int extend_max_stream_data(ngtcp2_conn*, int64_t stream_id, uint64_t, void* user_data, void*) {
  return self(user_data)->on_extend_max_stream_data(stream_id);
}

int handshake_completed(ngtcp2_conn*, void* user_data) { return self(user_data)->on_handshake_completed(); }

void rand_cb(uint8_t* dest, size_t destlen, const ngtcp2_rand_ctx*) { OsRandom().fill(dest, destlen); }

int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, ngtcp2_stateless_reset_token* token, size_t cidlen,
                          void* user_data) {
  return self(user_data)->on_new_connection_id(cid, token, cidlen);
}

int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data) {
  return self(user_data)->on_remove_connection_id(cid);
}

ngtcp2_conn* conn_of_ref(ngtcp2_crypto_conn_ref* ref) { return static_cast<H3Session*>(ref->user_data)->conn_for_tls(); }

// --- nghttp3 callbacks --------------------------------------------------------------------------

int h3_acked_stream_data(nghttp3_conn*, int64_t stream_id, uint64_t datalen, void* user_data, void*) {
  return self(user_data)->on_h3_acked(stream_id, datalen);
}

int h3_stream_close(nghttp3_conn*, int64_t stream_id, uint64_t app_error_code, void* user_data, void*) {
  return self(user_data)->on_h3_stream_close(stream_id, app_error_code);
}

int h3_recv_data(nghttp3_conn*, int64_t stream_id, const uint8_t* data, size_t datalen, void* user_data, void*) {
  return self(user_data)->on_h3_data(stream_id, data, datalen);
}

int h3_deferred_consume(nghttp3_conn*, int64_t stream_id, size_t consumed, void* user_data, void*) {
  return self(user_data)->on_h3_deferred_consume(stream_id, consumed);
}

int h3_begin_headers(nghttp3_conn*, int64_t stream_id, void* user_data, void*) {
  return self(user_data)->on_begin_headers(stream_id);
}

int h3_recv_header(nghttp3_conn*, int64_t stream_id, int32_t, nghttp3_rcbuf* name, nghttp3_rcbuf* value, uint8_t,
                   void* user_data, void*) {
  return self(user_data)->on_header(stream_id, view(name), view(value));
}

int h3_end_headers(nghttp3_conn*, int64_t stream_id, int fin, void* user_data, void*) {
  return self(user_data)->on_end_headers(stream_id, fin != 0);
}

int h3_end_stream(nghttp3_conn*, int64_t stream_id, void* user_data, void*) {
  return self(user_data)->on_h3_end_stream(stream_id);
}

int h3_stop_sending(nghttp3_conn*, int64_t stream_id, uint64_t app_error_code, void* user_data, void*) {
  return self(user_data)->on_h3_stop_sending(stream_id, app_error_code);
}

int h3_reset_stream(nghttp3_conn*, int64_t stream_id, uint64_t app_error_code, void* user_data, void*) {
  return self(user_data)->on_h3_reset_stream(stream_id, app_error_code);
}

void h3_rand(uint8_t* dest, size_t destlen) { OsRandom().fill(dest, destlen); }

int h3_recv_settings(nghttp3_conn*, const nghttp3_proto_settings* settings, void* user_data) {
  return self(user_data)->on_h3_settings(settings->enable_connect_protocol != 0);
}

}  // namespace

// nghttp3's read_data for a request stream (a WebSocket's bytes, or a refusal's body).
nghttp3_ssize read_h3_data(nghttp3_conn*, int64_t, nghttp3_vec* vec, size_t veccnt, uint32_t* flags, void*,
                           void* stream_user_data) {
  auto* st = static_cast<H3Stream*>(stream_user_data);
  return st->session->read_stream_data(st, vec, veccnt, flags);
}

H3Session::H3Session(QuicEndpoint& quic, Loop& loop, std::shared_ptr<const SocketConfig> config, ServerHandler* handler,
                     const ngtcp2_path& path)
    : quic_(quic), loop_(loop), config_(std::move(config)), handler_(handler) {
  ngtcp2_ccerr_default(&last_error_);
  remote_len_ = static_cast<socklen_t>(path.remote.addrlen);
  std::memcpy(&remote_addr_, path.remote.addr, remote_len_);
  remote_ = address_of(reinterpret_cast<const sockaddr*>(&remote_addr_));
  uv_timer_init(loop_.uv(), &timer_);
  timer_.data = this;
  timer_open_ = true;
  loop_.add_member(this);
}

H3Session::~H3Session() {
  for (auto& [id, st] : streams_) delete st;
  if (h3_ != nullptr) nghttp3_conn_del(h3_);
  if (conn_ != nullptr) ngtcp2_conn_del(conn_);
  if (ossl_ != nullptr) ngtcp2_crypto_ossl_ctx_del(ossl_);
  if (ssl_ != nullptr) SSL_free(ssl_);
  loop_.remove_member(this);
}

H3Session* H3Session::create(QuicEndpoint& quic, Loop& loop, std::shared_ptr<const SocketConfig> config,
                             ServerHandler* handler, const Accepted& accepted, const ngtcp2_path& path) {
  auto* s = new H3Session(quic, loop, std::move(config), handler, path);
  if (!s->start(accepted, path)) {
    s->closed_ = true;  // nothing was routed or announced: just free it
    uv_close(reinterpret_cast<uv_handle_t*>(&s->timer_), &H3Session::on_timer_closed);
    return nullptr;
  }
  return s;
}

bool H3Session::start(const Accepted& a, const ngtcp2_path& path) {
  const auto& h3 = config_->http3;
  if (!config_->http3.tls) return false;
  tls_ = config_->http3.tls->current;
  if (!tls_) return false;

  static constexpr ngtcp2_callbacks kCallbacks = [] {
    ngtcp2_callbacks c{};
    c.recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
    c.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
    c.handshake_completed = handshake_completed;
    c.encrypt = ngtcp2_crypto_encrypt_cb;
    c.decrypt = ngtcp2_crypto_decrypt_cb;
    c.hp_mask = ngtcp2_crypto_hp_mask_cb;
    c.recv_stream_data = recv_stream_data;
    c.acked_stream_data_offset = acked_stream_data_offset;
    c.stream_close = stream_close;
    c.rand = rand_cb;
    c.remove_connection_id = remove_connection_id;
    c.update_key = ngtcp2_crypto_update_key_cb;
    c.stream_reset = stream_reset;
    c.extend_max_stream_data = extend_max_stream_data;
    c.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
    c.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
    c.stream_stop_sending = stream_stop_sending;
    c.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
    c.get_new_connection_id2 = get_new_connection_id;
    c.get_path_challenge_data2 = ngtcp2_crypto_get_path_challenge_data2_cb;
    return c;
  }();

  ngtcp2_cid scid;
  scid.datalen = kScidLen;
  OsRandom().fill(scid.data, scid.datalen);

  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now_ns();
  if (a.retried) {
    settings.token = a.token;
    settings.tokenlen = a.tokenlen;
    settings.token_type = a.token_type;
  }
  if (config_->handshake_timeout_ms > 0) settings.handshake_timeout = config_->handshake_timeout_ms * NGTCP2_MILLISECONDS;
  settings.max_window = h3.connection_window_size;
  settings.max_stream_window = h3.window_size;

  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_bidi = h3.max_streams;
  params.initial_max_streams_uni = 3;  // the peer's control and QPACK streams (RFC 9114 §6.2)
  params.initial_max_stream_data_bidi_remote = h3.window_size;
  params.initial_max_stream_data_uni = 64 * 1024;
  params.initial_max_data = h3.connection_window_size;
  params.max_idle_timeout = h3.idle_timeout_ms * NGTCP2_MILLISECONDS;
  params.stateless_reset_token_present = 1;
  if (a.retried) {
    params.original_dcid = a.ocid;
    params.retry_scid = a.dcid;
    params.retry_scid_present = 1;
  } else {
    params.original_dcid = a.dcid;
  }
  params.original_dcid_present = 1;
  if (ngtcp2_crypto_generate_stateless_reset_token(params.stateless_reset_token, quic_.secret(), QuicEndpoint::kSecretLen,
                                                   &scid) != 0)
    return false;

  if (ngtcp2_conn_server_new(&conn_, &a.scid, &scid, &path, a.version, &kCallbacks, &settings, &params, nullptr, this) != 0)
    return false;

  ssl_ = SSL_new(tls_->fallback()->ctx());
  if (ssl_ == nullptr || ngtcp2_crypto_ossl_ctx_new(&ossl_, ssl_) != 0 ||
      ngtcp2_crypto_ossl_configure_server_session(ssl_) != 0)
    return false;
  app_data_.ref.get_conn = conn_of_ref;
  app_data_.ref.user_data = this;
  app_data_.contexts = tls_.get();
  SSL_set_app_data(ssl_, &app_data_.ref);
  SSL_set_accept_state(ssl_);
  ngtcp2_conn_set_tls_native_handle(conn_, ossl_);

  cids_.push_back(scid);
  quic_.route(scid, this);
  cids_.push_back(a.dcid);  // the client's Initial packets carry this until it learns ours
  quic_.route(a.dcid, this);
  return true;
}

bool H3Session::start_h3() {
  nghttp3_callbacks cb{};
  cb.acked_stream_data = h3_acked_stream_data;
  cb.stream_close = h3_stream_close;
  cb.recv_data = h3_recv_data;
  cb.deferred_consume = h3_deferred_consume;
  cb.begin_headers = h3_begin_headers;
  cb.recv_header = h3_recv_header;
  cb.end_headers = h3_end_headers;
  cb.end_stream = h3_end_stream;
  cb.stop_sending = h3_stop_sending;
  cb.reset_stream = h3_reset_stream;
  cb.rand = h3_rand;
  if (client_role_) cb.recv_settings2 = h3_recv_settings;
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  settings.max_field_section_size = config_->head_limits.max_head_size;
  // QPACK (RFC 9204): a bounded dynamic table and few blocked streams keep a decoder bomb small.
  settings.qpack_max_dtable_capacity = 4096;
  settings.qpack_blocked_streams = 16;
  settings.enable_connect_protocol = 1;  // RFC 9220 §3 (a client ignores it)
  const int created = client_role_ ? nghttp3_conn_client_new(&h3_, &cb, &settings, nullptr, this)
                                   : nghttp3_conn_server_new(&h3_, &cb, &settings, nullptr, this);
  if (created != 0) return false;
  // RFC 9114 §6.2: our control stream and QPACK encoder/decoder streams.
  int64_t control = -1, enc = -1, dec = -1;
  if (ngtcp2_conn_open_uni_stream(conn_, &control, nullptr) != 0 || nghttp3_conn_bind_control_stream(h3_, control) != 0 ||
      ngtcp2_conn_open_uni_stream(conn_, &enc, nullptr) != 0 || ngtcp2_conn_open_uni_stream(conn_, &dec, nullptr) != 0 ||
      nghttp3_conn_bind_qpack_streams(h3_, enc, dec) != 0)
    return false;
  if (!client_role_) nghttp3_conn_set_max_client_streams_bidi(h3_, config_->http3.max_streams);
  return true;
}

// --- input ---------------------------------------------------------------------------------------

void H3Session::receive(const ngtcp2_path& path, const ngtcp2_pkt_info& info, const uint8_t* data, size_t len) {
  if (closed_) return;
  if (closing_) {
    // RFC 9000 §10.2.1: answer with our CONNECTION_CLOSE, at most once per PTO; draining: silence.
    const uint64_t now = now_ns();
    if (!draining_ && !close_packet_.empty() && now - last_close_sent_ >= ngtcp2_conn_get_pto(conn_)) {
      last_close_sent_ = now;
      quic_.send(reinterpret_cast<const sockaddr*>(&remote_addr_), remote_len_, close_packet_.data(), close_packet_.size(), 0);
    }
    return;
  }
  receiving_ = true;
  loop_.receive_depth++;
  const int rv = ngtcp2_conn_read_pkt(conn_, &path, &info, data, len, now_ns());
  loop_.receive_depth--;
  receiving_ = false;
  if (closed_) return;
  if (rv != 0) {
    switch (rv) {
      case NGTCP2_ERR_DRAINING:  // the peer's CONNECTION_CLOSE
        if (client_role_ && !ready_) {
          const ngtcp2_ccerr* e = ngtcp2_conn_get_ccerr2(conn_);
          // RFC 9001 §4.8: 0x100 + a TLS alert; 120 is no_application_protocol (no "h3").
          if (e->type == NGTCP2_CCERR_TYPE_TRANSPORT && e->error_code == 0x100 + 120)
            fail_client("ERR_SOCKUDO_WS_HTTP3_NOT_NEGOTIATED", "the server did not agree to HTTP/3 (ALPN \"h3\")");
          else
            fail_client("ECONNRESET", "the server closed the QUIC connection (error 0x" + [&] {
              char b[24];
              std::snprintf(b, sizeof b, "%llx", static_cast<unsigned long long>(e->error_code));
              return std::string(b);
            }() + ")");
        }
        enter_closing(true);
        return;
      case NGTCP2_ERR_DROP_CONN:
        destroy();
        return;
      case NGTCP2_ERR_CRYPTO: {
        if (client_role_ && !ready_) fail_client("ERR_SSL_HANDSHAKE_FAILURE", "the QUIC TLS handshake failed");
        ngtcp2_ccerr e;
        ngtcp2_ccerr_set_tls_alert(&e, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
        fail(e);
        return;
      }
      case NGTCP2_ERR_CALLBACK_FAILURE:
        fail(last_error_);
        return;
      default: {
        ngtcp2_ccerr e;
        ngtcp2_ccerr_set_liberr(&e, rv, nullptr, 0);
        fail(e);
        return;
      }
    }
  }
  sweep();
  maybe_finish();
  mark_dirty();
}

H3Stream* H3Session::stream_of(int64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

int H3Session::on_stream_data(uint32_t flags, int64_t stream_id, const uint8_t* data, size_t len) {
  if (closed_) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (h3_ == nullptr && !start_h3()) {
    ngtcp2_ccerr_set_application_error(&last_error_, NGHTTP3_H3_INTERNAL_ERROR, nullptr, 0);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  const nghttp3_ssize n = nghttp3_conn_read_stream2(h3_, stream_id, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0,
                                                    now_ns());
  if (closed_) return NGTCP2_ERR_CALLBACK_FAILURE;
  if (n < 0) {
    ngtcp2_ccerr_set_application_error(&last_error_, nghttp3_err_infer_quic_app_error_code(static_cast<int>(n)), nullptr, 0);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  // Framing and QPACK bytes are consumed at once; DATA payload when its endpoint takes it.
  ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, static_cast<uint64_t>(n));
  ngtcp2_conn_extend_max_offset(conn_, static_cast<uint64_t>(n));
  return 0;
}

int H3Session::on_h3_settings(bool connect_protocol) {
  if (!client_role_ || ready_) return 0;
  ready_ = true;
  if (client_ != nullptr) client_->on_session_ready(connect_protocol);
  return 0;
}

int H3Session::on_h3_deferred_consume(int64_t stream_id, size_t consumed_bytes) {
  ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, consumed_bytes);
  ngtcp2_conn_extend_max_offset(conn_, consumed_bytes);
  return 0;
}

void H3Session::consumed(int64_t stream_id, size_t bytes) {
  if (closed_ || closing_ || bytes == 0) return;
  ngtcp2_conn_extend_max_stream_offset(conn_, stream_id, bytes);
  ngtcp2_conn_extend_max_offset(conn_, bytes);
  mark_dirty();
}

int H3Session::on_acked_stream_data(int64_t stream_id, uint64_t datalen) {
  if (h3_ != nullptr && nghttp3_conn_add_ack_offset(h3_, stream_id, datalen) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int H3Session::on_stream_close(uint32_t flags, int64_t stream_id, uint64_t app_error_code) {
  if ((flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) == 0) app_error_code = NGHTTP3_H3_NO_ERROR;
  if (h3_ != nullptr) {
    const int rv = nghttp3_conn_close_stream(h3_, stream_id, app_error_code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) {
      ngtcp2_ccerr_set_application_error(&last_error_, nghttp3_err_infer_quic_app_error_code(rv), nullptr, 0);
      return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  }
  // A client's request stream ended: it may open another (RFC 9000 §4.6).
  if (ngtcp2_is_bidi_stream(stream_id) && !ngtcp2_conn_is_local_stream(conn_, stream_id))
    ngtcp2_conn_extend_max_streams_bidi(conn_, 1);
  return 0;
}

// The peer's RESET_STREAM or STOP_SENDING: that WebSocket is aborted (1006).
int H3Session::on_stream_reset(int64_t stream_id, uint64_t) {
  if (H3Stream* st = stream_of(stream_id)) {
    st->reset = true;
    deliver_eof(st, -ECONNRESET);
  }
  if (h3_ != nullptr && nghttp3_conn_shutdown_stream_read(h3_, stream_id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int H3Session::on_stream_stop_sending(int64_t stream_id, uint64_t code) { return on_stream_reset(stream_id, code); }

int H3Session::on_extend_max_stream_data(int64_t stream_id) {
  if (h3_ != nullptr && nghttp3_conn_unblock_stream(h3_, stream_id) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  H3Stream* st = stream_of(stream_id);
  if (st != nullptr && st->write_blocked) {
    st->write_blocked = false;
    if (st->events != nullptr && !st->closed) st->events->on_link_writable();
  }
  return 0;
}

int H3Session::on_handshake_completed() {
  handshake_done_ = true;
  quic_.handshake_finished(this);
  if (client_role_ && !verify_server()) {
    ngtcp2_ccerr_set_tls_alert(&last_error_, 42, nullptr, 0);  // bad_certificate
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  if (h3_ == nullptr && !start_h3()) {
    ngtcp2_ccerr_set_application_error(&last_error_, NGHTTP3_H3_INTERNAL_ERROR, nullptr, 0);
    return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H3Session::on_new_connection_id(ngtcp2_cid* cid, ngtcp2_stateless_reset_token* token, size_t cidlen) {
  cid->datalen = cidlen;
  OsRandom().fill(cid->data, cidlen);
  if (ngtcp2_crypto_generate_stateless_reset_token(token->data, quic_.secret(), QuicEndpoint::kSecretLen, cid) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  cids_.push_back(*cid);
  quic_.route(*cid, this);
  return 0;
}

int H3Session::on_remove_connection_id(const ngtcp2_cid* cid) {
  quic_.unroute(*cid);
  cids_.erase(std::remove_if(cids_.begin(), cids_.end(), [&](const ngtcp2_cid& c) { return ngtcp2_cid_eq(&c, cid); }),
              cids_.end());
  return 0;
}

// --- requests ------------------------------------------------------------------------------------

int H3Session::on_begin_headers(int64_t stream_id) {
  if (H3Stream* st = stream_of(stream_id)) {
    if (client_role_) {  // a response (an interim one is replaced by the final one)
      st->response_status = 0;
      st->response.list.clear();
    }
    return 0;  // a server ignores a second block (trailers arrive elsewhere)
  }
  if (client_role_) return 0;  // a server cannot open request streams (RFC 9114 §6.1)
  auto* st = new H3Stream();
  st->session = this;
  st->id = stream_id;
  st->request = std::make_unique<handshake::ConnectRequest>(config_->head_limits);
  streams_[stream_id] = st;
  nghttp3_conn_set_stream_user_data(h3_, stream_id, st);
  return 0;
}

int H3Session::on_header(int64_t stream_id, std::string_view name, std::string_view value) {
  H3Stream* st = stream_of(stream_id);
  if (st == nullptr) return 0;
  if (client_role_) {  // a client stream's answer (nghttp3 checked its syntax)
    if (name == ":status") {
      int status = 0;
      for (char c : value) status = c >= '0' && c <= '9' && status < 1000 ? status * 10 + (c - '0') : 1000;
      st->response_status = status;
    } else if (st->response.list.size() < config_->head_limits.max_headers) {
      st->response.list.push_back({std::string(name), std::string(value)});
    }
    return 0;
  }
  if (st->request) st->request->add(name, value);
  return 0;
}

int H3Session::on_end_headers(int64_t stream_id, bool fin) {
  H3Stream* st = stream_of(stream_id);
  if (st != nullptr && client_role_) {
    if (st->response_status >= 100 && st->response_status < 200) return 0;  // interim: the final answer follows
    if (fin) st->remote_ended = true;
    if (st->events != nullptr) st->events->on_link_response(st->response_status, st->response);
    if (st->remote_ended && st->held.empty() && st->events != nullptr) deliver_eof(st, 0);
    return 0;
  }
  if (st == nullptr || !st->request) return 0;
  if (fin) st->remote_ended = true;
  const uint64_t turn = loop_.now_ms();
  if (turn != new_streams_turn_) {
    new_streams_turn_ = turn;
    new_streams_ = 0;
  }
  if (++new_streams_ > kMaxNewStreamsPerTurn || going_away_) {
    // RFC 9114 §4.1.1: refused before any processing; the client may retry it.
    st->request.reset();
    st->refusal = true;
    ngtcp2_conn_shutdown_stream(conn_, 0, stream_id, NGHTTP3_H3_REQUEST_REJECTED);
    return 0;
  }
  on_request(st);
  return 0;
}

// A complete request block: a WebSocket for the application, or an answer from here.
void H3Session::on_request(H3Stream* st) {
  std::unique_ptr<handshake::ConnectRequest> request = std::move(st->request);
  handshake::UpgradeRequest upgrade;
  const handshake::UpgradeVerdict verdict = handshake::validate_extended_connect(*request, upgrade);
  if (verdict.kind != handshake::UpgradeKind::Valid) {
    refuse(st, verdict);
    return;
  }
  st->has_endpoint = true;
  Endpoint::create_stream(loop_, std::make_unique<H3StreamLink>(st), config_, handler_, std::move(request), upgrade, remote_);
}

void H3Session::refuse(H3Stream* st, const handshake::UpgradeVerdict& verdict) {
  std::vector<handshake::OwnedField> fields;
  handshake::build_error_fields(verdict.status, verdict.reason, {}, verdict.version_hint, fields);
  H3StreamLink link(st);
  link.answer(fields, verdict.reason, true);
}

int H3Session::on_h3_data(int64_t stream_id, const uint8_t* data, size_t len) {
  H3Stream* st = stream_of(stream_id);
  if (st == nullptr || st->detached || st->refusal || !st->has_endpoint) {
    consumed(stream_id, len);  // nobody reads it: give the credit back at once
    return 0;
  }
  if (st->wants_read && st->held.empty() && st->events != nullptr) {
    // ngtcp2 decrypted the packet into its own buffer and hands each byte out once: the engine
    // may unmask it in place.
    st->events->on_link_data(const_cast<uint8_t*>(data), len);
    if (!closed_) consumed(stream_id, len);
    return closed_ ? NGHTTP3_ERR_CALLBACK_FAILURE : 0;
  }
  st->held.insert(st->held.end(), data, data + len);  // bounded by the credit we gave
  return 0;
}

int H3Session::on_h3_end_stream(int64_t stream_id) {
  H3Stream* st = stream_of(stream_id);
  if (st == nullptr) return 0;
  st->remote_ended = true;
  if (st->held.empty() && st->events != nullptr && st->wants_read) deliver_eof(st, 0);
  return 0;
}

int H3Session::on_h3_stop_sending(int64_t stream_id, uint64_t app_error_code) {
  ngtcp2_conn_shutdown_stream_read(conn_, 0, stream_id, app_error_code);
  return 0;
}

int H3Session::on_h3_reset_stream(int64_t stream_id, uint64_t app_error_code) {
  ngtcp2_conn_shutdown_stream_write(conn_, 0, stream_id, app_error_code);
  return 0;
}

int H3Session::on_h3_acked(int64_t stream_id, uint64_t datalen) {
  H3Stream* st = stream_of(stream_id);
  if (st == nullptr || st->refusal) return 0;
  st->unacked -= std::min<uint64_t>(st->unacked, datalen);
  if (st->events != nullptr) st->events->on_link_acknowledged(static_cast<size_t>(datalen));
  if (st->unacked == 0 && st->close_done != nullptr) finish_stream(st);
  return 0;
}

int H3Session::on_h3_stream_close(int64_t stream_id, uint64_t app_error_code) {
  H3Stream* st = stream_of(stream_id);
  if (st == nullptr) return 0;
  st->closed = true;
  st->pending.clear();
  st->pending_bytes = 0;
  maybe_done_.push_back(st);
  if (st->events != nullptr) {
    // Both directions ended cleanly: 0; anything else (a reset, an error code) is an abort.
    // Reported even when the peer's FIN was: an endpoint lingering after its own FIN waits for this.
    st->eof_delivered = true;
    st->events->on_link_eof(app_error_code == NGHTTP3_H3_NO_ERROR && st->remote_ended && !st->reset ? 0 : -ECONNRESET);
  }
  if (st->close_done != nullptr) finish_stream(st);
  return 0;
}

void H3Session::finish_stream(H3Stream* st) {
  auto done = st->close_done;
  st->close_done = nullptr;
  maybe_done_.push_back(st);
  done(st->close_arg);
}

void H3Session::deliver_eof(H3Stream* st, int error) {
  if (st->eof_delivered || st->events == nullptr) return;
  st->eof_delivered = true;
  st->events->on_link_eof(error);
}

nghttp3_ssize H3Session::read_stream_data(H3Stream* st, nghttp3_vec* vec, size_t veccnt, uint32_t* flags) {
  if (st->refusal) {
    if (st->body_given || st->body.empty() || veccnt == 0) {
      *flags |= NGHTTP3_DATA_FLAG_EOF;
      return 0;
    }
    st->body_given = true;
    vec[0] = {reinterpret_cast<uint8_t*>(st->body.data()), st->body.size()};
    *flags |= NGHTTP3_DATA_FLAG_EOF;
    st->end_sent = true;
    return 1;
  }
  size_t n = 0;
  while (n < veccnt && !st->pending.empty()) {
    const io::Slice s = st->pending.front();
    st->pending.pop_front();
    vec[n++] = {const_cast<uint8_t*>(s.data), s.len};
    st->pending_bytes -= s.len;
    st->unacked += s.len;
  }
  if (st->pending.empty() && st->end_requested) {
    *flags |= NGHTTP3_DATA_FLAG_EOF;
    st->end_sent = true;
    return static_cast<nghttp3_ssize>(n);
  }
  return n == 0 ? NGHTTP3_ERR_WOULDBLOCK : static_cast<nghttp3_ssize>(n);
}

// --- output --------------------------------------------------------------------------------------

void H3Session::mark_dirty() {
  if (!closed_ && !closing_ && !dirty_slot.listed) loop_.mark_dirty(this);
}

void H3Session::flush_from_loop() {
  if (closed_ || closing_) return;
  if (!blocked_.empty()) return;  // waiting for the socket
  write_packets();
  if (socket_error_ != 0 && !closed_) {
    on_socket_error(socket_error_);
    return;
  }
  if (!closed_ && !closing_) arm_timer();
  sweep();
  maybe_finish();
}

void H3Session::on_writable() {
  if (closed_ || closing_) return;
  if (!send_pending()) return;
  flush_from_loop();
}

bool H3Session::send_pending() {
  if (blocked_.empty()) return true;
  const int rv = quic_.send(reinterpret_cast<const sockaddr*>(&blocked_addr_), blocked_len_, blocked_.data(), blocked_.size(),
                              blocked_segment_);
  if (rv == -EAGAIN) {
    quic_.wait_writable(this);
    return false;
  }
  blocked_.clear();
  return true;
}

void H3Session::write_packets() {
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  const uint64_t ts = now_ns();
  const size_t max = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  uint8_t* buf = quic_.packet_buffer();
  size_t off = 0, packets = 0;
  // Every packet goes where ngtcp2 says (its path): after a migration, and a path validation's
  // probes, that is not where the connection started (RFC 9000 §9). One send carries packets for
  // one destination.
  sockaddr_storage dest = remote_addr_;
  socklen_t dest_len = remote_len_;
  auto flush = [&]() -> bool {
    if (off == 0) return true;
    const int rv = quic_.send(reinterpret_cast<const sockaddr*>(&dest), dest_len, buf, off, max);
    // A client's connected socket reports an ICMP port unreachable on the next send.
    if (rv == -ECONNREFUSED && client_role_) socket_error_ = ECONNREFUSED;
    if (rv == -EAGAIN) {
      blocked_.assign(buf, buf + off);
      blocked_segment_ = max;
      blocked_addr_ = dest;
      blocked_len_ = dest_len;
      quic_.wait_writable(this);
      off = 0;
      return false;
    }
    off = 0;
    return true;
  };
  // A packet ngtcp2 is still filling (NGTCP2_ERR_WRITE_MORE) must be finished before anything
  // else touches the connection (ngtcp2_conn_handle_expiry asserts on it): the budget stops the
  // loop only between packets.
  bool filling = false;
  for (;;) {
    if (!filling && packets >= kMaxPacketsPerFlush) break;
    int64_t stream_id = -1;
    int fin = 0;
    nghttp3_vec vec[kMaxIov];
    nghttp3_ssize veccnt = 0;
    if (h3_ != nullptr && ngtcp2_conn_get_max_data_left(conn_) > 0) {
      veccnt = nghttp3_conn_writev_stream(h3_, &stream_id, &fin, vec, kMaxIov);
      if (veccnt < 0) {
        ngtcp2_ccerr e;
        ngtcp2_ccerr_set_application_error(&e, nghttp3_err_infer_quic_app_error_code(static_cast<int>(veccnt)), nullptr, 0);
        fail(e);
        return;
      }
    }
    ngtcp2_ssize ndatalen = -1;
    uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    if (fin) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    const ngtcp2_ssize nwrite = ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, buf + off, max, &ndatalen, flags, stream_id,
                                                          reinterpret_cast<const ngtcp2_vec*>(vec),
                                                          static_cast<size_t>(veccnt), ts);
    if (nwrite < 0) {
      switch (nwrite) {
        case NGTCP2_ERR_STREAM_DATA_BLOCKED:
          nghttp3_conn_block_stream(h3_, stream_id);
          continue;
        case NGTCP2_ERR_STREAM_SHUT_WR:
          nghttp3_conn_shutdown_stream_write(h3_, stream_id);
          continue;
        case NGTCP2_ERR_WRITE_MORE:
          filling = true;
          if (nghttp3_conn_add_write_offset(h3_, stream_id, static_cast<size_t>(ndatalen)) != 0) break;
          continue;
        default:
          break;
      }
      ngtcp2_ccerr e;
      ngtcp2_ccerr_set_liberr(&e, static_cast<int>(nwrite), nullptr, 0);
      fail(e);
      return;
    }
    if (ndatalen >= 0 && stream_id >= 0 && nghttp3_conn_add_write_offset(h3_, stream_id, static_cast<size_t>(ndatalen)) != 0) {
      ngtcp2_ccerr e;
      ngtcp2_ccerr_set_application_error(&e, NGHTTP3_H3_INTERNAL_ERROR, nullptr, 0);
      fail(e);
      return;
    }
    filling = false;
    if (nwrite == 0) break;  // nothing more now (done, or held back by congestion control / pacing)
    if (!same_destination(ps.path.remote, dest, dest_len)) {
      // The batch so far leaves for its own destination; this packet starts the next batch. (If
      // the socket is full, this packet is lost: QUIC's loss recovery sends its frames again.)
      const size_t earlier = off;
      if (!flush()) break;
      if (earlier > 0) std::memmove(buf, buf + earlier, static_cast<size_t>(nwrite));
      dest_len = static_cast<socklen_t>(ps.path.remote.addrlen);
      std::memcpy(&dest, ps.path.remote.addr, dest_len);
    }
    off += static_cast<size_t>(nwrite);
    packets++;
    // GSO: every datagram but the last of one send has the same size.
    if (static_cast<size_t>(nwrite) < max || off + max > QuicEndpoint::kPacketBufferSize) {
      if (!flush()) break;
    }
  }
  flush();
  // The closing period answers on the active path.
  const ngtcp2_path* active = ngtcp2_conn_get_path(conn_);
  if (active != nullptr && active->remote.addrlen > 0 && active->remote.addrlen <= sizeof(remote_addr_)) {
    remote_len_ = static_cast<socklen_t>(active->remote.addrlen);
    std::memcpy(&remote_addr_, active->remote.addr, remote_len_);
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, ts);
  if (packets >= kMaxPacketsPerFlush) mark_dirty();  // more on the next turn
}

// --- timers and closing --------------------------------------------------------------------------

void H3Session::arm_timer() {
  if (closed_) return;
  const uint64_t expiry = closing_ ? closing_until_ : ngtcp2_conn_get_expiry(conn_);
  if (expiry == UINT64_MAX) {
    uv_timer_stop(&timer_);
    return;
  }
  const uint64_t now = now_ns();
  const uint64_t ms = expiry <= now ? 0 : (expiry - now + 999999) / 1000000;
  uv_timer_start(&timer_, &H3Session::on_timer, ms, 0);
}

void H3Session::on_timer(uv_timer_t* handle) {
  auto* s = static_cast<H3Session*>(handle->data);
  Loop::CallbackScope scope(s->loop_);
  if (s->closed_) return;
  if (s->closing_) {
    s->destroy();
    return;
  }
  const int rv = ngtcp2_conn_handle_expiry(s->conn_, now_ns());
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    if (s->client_role_ && !s->ready_) s->fail_client("ETIMEDOUT", "the QUIC connection timed out before the server's SETTINGS");
    s->destroy();  // RFC 9000 §10.1: an idle connection is discarded silently
    return;
  }
  if (rv != 0) {
    ngtcp2_ccerr e;
    ngtcp2_ccerr_set_liberr(&e, rv, nullptr, 0);
    s->fail(e);
    return;
  }
  s->flush_from_loop();
}

void H3Session::fail(const ngtcp2_ccerr& error) {
  if (closed_ || closing_) return;
  if (client_role_ && !ready_) fail_client("ERR_SOCKUDO_WS_HTTP3_FAILED", "the HTTP/3 connection failed before it was ready");
  if (ngtcp2_conn_in_closing_period(conn_) || ngtcp2_conn_in_draining_period(conn_)) {
    enter_closing(ngtcp2_conn_in_draining_period(conn_));
    return;
  }
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  uint8_t* buf = quic_.packet_buffer();
  const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(conn_, &ps.path, &pi, buf,
                                                            ngtcp2_conn_get_max_tx_udp_payload_size(conn_), &error, now_ns());
  if (n > 0) {
    close_packet_.assign(buf, buf + n);
    last_close_sent_ = now_ns();
    quic_.send(reinterpret_cast<const sockaddr*>(&remote_addr_), remote_len_, close_packet_.data(), close_packet_.size(), 0);
  }
  enter_closing(false);
}

void H3Session::enter_closing(bool draining) {
  if (closed_ || closing_) return;
  if (client_role_ && !ready_) fail_client("ECONNRESET", "the QUIC connection closed before the server's SETTINGS");
  closing_ = true;
  draining_ = draining;
  loop_.unmark_dirty(this);
  quic_.handshake_finished(this);
  closing_until_ = now_ns() + 3 * ngtcp2_conn_get_pto(conn_);
  // Every WebSocket of the connection ends (1006 for those still open).
  abort_streams();
  sweep();
  arm_timer();
}

// The connection is gone: every stream ends, and every WebSocket still open closes with 1006.
void H3Session::abort_streams() {
  for (auto& [id, st] : streams_) {
    st->closed = true;
    st->pending.clear();
    st->pending_bytes = 0;
    maybe_done_.push_back(st);
    deliver_eof(st, -ECONNRESET);
    if (st->close_done != nullptr) finish_stream(st);
  }
}

void H3Session::close_gracefully() {
  if (closed_ || closing_ || going_away_) return;
  going_away_ = true;
  if (h3_ == nullptr || streams_.empty()) {
    ngtcp2_ccerr e;
    ngtcp2_ccerr_set_application_error(&e, NGHTTP3_H3_NO_ERROR, nullptr, 0);
    fail(e);
    return;
  }
  nghttp3_conn_shutdown(h3_);  // RFC 9114 §5.2: GOAWAY; the streams in progress go on
  mark_dirty();
}

void H3Session::maybe_finish() {
  if (closed_ || closing_ || !going_away_ || !streams_.empty()) return;
  ngtcp2_ccerr e;
  ngtcp2_ccerr_set_application_error(&e, NGHTTP3_H3_NO_ERROR, nullptr, 0);
  fail(e);
}

void H3Session::release_stream(H3Stream* st) {
  // Our FIN was asked for after everything the endpoint wrote: it still goes out (read_stream_data
  // answers EOF), so a stream whose peer ended too finishes cleanly instead of being reset. (The
  // peer's FIN often comes in the packet that acknowledges our close frame, before that FIN has
  // been handed to nghttp3.)
  const bool ending_cleanly = (st->end_sent || (st->end_requested && st->pending.empty())) && st->remote_ended;
  st->detached = true;
  st->events = nullptr;
  st->pending.clear();
  st->pending_bytes = 0;
  if (!st->held.empty()) consumed(st->id, st->held.size());
  st->held.clear();
  maybe_done_.push_back(st);
  if (!closed_ && !closing_ && !st->closed) {
    if (!ending_cleanly && !st->refusal) ngtcp2_conn_shutdown_stream(conn_, 0, st->id, NGHTTP3_H3_REQUEST_CANCELLED);
    mark_dirty();
  }
  if (closed_) {
    sweep();
    if (streams_.empty() && !timer_open_) delete this;
  }
}

// Frees the stream records that may have finished since the last sweep.
void H3Session::sweep() {
  if (receiving_) return;
  std::vector<H3Stream*> maybe;
  maybe.swap(maybe_done_);
  // A stream may be listed more than once (closed, then released, or every stream at a connection
  // close): once freed here, a second entry must not be read.
  std::sort(maybe.begin(), maybe.end());
  maybe.erase(std::unique(maybe.begin(), maybe.end()), maybe.end());
  for (H3Stream* st : maybe) {
    auto it = streams_.find(st->id);
    if (it == streams_.end() || it->second != st || !st->finished()) continue;
    if (h3_ != nullptr && !closed_) nghttp3_conn_set_stream_user_data(h3_, st->id, nullptr);
    streams_.erase(it);
    delete st;
  }
}

void H3Session::destroy() {
  if (closed_) return;
  if (!closing_) {
    // Streams end as in the closing period, without a CONNECTION_CLOSE (teardown, idle timeout).
    closing_ = true;
    abort_streams();
  }
  closed_ = true;
  loop_.unmark_dirty(this);
  if (client_ != nullptr) {
    SessionClientHandler* h = client_;
    if (ready_) {
      client_ = nullptr;
      h->on_session_closed();
    } else {
      fail_client("ECONNRESET", "the QUIC connection ended before the server's SETTINGS");
    }
  }
  for (const ngtcp2_cid& cid : cids_) quic_.unroute(cid);
  cids_.clear();
  quic_.session_gone(this);
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &H3Session::on_timer_closed);
}

void H3Session::on_timer_closed(uv_handle_t* handle) {
  auto* s = static_cast<H3Session*>(handle->data);
  s->timer_open_ = false;
  s->receiving_ = false;
  s->sweep();
  if (s->streams_.empty()) delete s;
  // else: the last stream link's close (release_stream) deletes the session
}

}  // namespace sockudo::transport
