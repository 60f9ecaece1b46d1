#include "h3_mux.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_ossl.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>

#include "conn.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace sockudo::loadgen {

namespace {

constexpr size_t kBatch = 64 * 1024;
constexpr size_t kWindow = 16 << 20;  // receive credit per stream; the connection's is 64×

H3Mux* self(void* p) { return static_cast<H3Mux*>(p); }

uint64_t now() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * NGTCP2_SECONDS + static_cast<uint64_t>(ts.tv_nsec);
}

void random_bytes(uint8_t* out, size_t n) { RAND_bytes(out, static_cast<int>(n)); }

std::string_view view(nghttp3_rcbuf* b) {
  const nghttp3_vec v = nghttp3_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

// Stream ids are stored + 1 in the Conn (0 means none; HTTP/3's first request stream is 0).
int64_t id_of(const Conn* c) { return c->h2_stream() - 1; }

}  // namespace

H3Mux::H3Mux(Loop& loop, const Endpoint& endpoint) : loop_(loop), endpoint_(endpoint) {
  timer_.mux = this;
  packets_.resize(kBatch);
  conn_ref_ = new ngtcp2_crypto_conn_ref{[](ngtcp2_crypto_conn_ref* r) { return self(r->user_data)->quic(); }, this};
}

H3Mux::~H3Mux() {
  if (h3_ != nullptr) nghttp3_conn_del(h3_);
  if (quic_ != nullptr) ngtcp2_conn_del(quic_);
  if (ossl_ != nullptr) ngtcp2_crypto_ossl_ctx_del(ossl_);
  if (ssl_ != nullptr) SSL_free(ssl_);
  if (ssl_ctx_ != nullptr) SSL_CTX_free(ssl_ctx_);
  delete static_cast<ngtcp2_crypto_conn_ref*>(conn_ref_);
  if (fd_ >= 0) ::close(fd_);
  if (timer_fd_ >= 0) ::close(timer_fd_);
}

void H3Mux::connect() {
  fd_ = socket(endpoint_.addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail_all(std::string("socket: ") + strerror(errno));
  if (::connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint_.addr), endpoint_.addr_len) != 0)
    return fail_all(std::string("connect: ") + strerror(errno));
  local_len_ = sizeof local_;
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local_), &local_len_);
  timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (timer_fd_ < 0 || !loop_.add(fd_, this) || !loop_.add(timer_fd_, &timer_)) return fail_all("cannot register the QUIC socket");

  ngtcp2_callbacks cb{};
  cb.client_initial = ngtcp2_crypto_client_initial_cb;
  cb.recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  cb.encrypt = ngtcp2_crypto_encrypt_cb;
  cb.decrypt = ngtcp2_crypto_decrypt_cb;
  cb.hp_mask = ngtcp2_crypto_hp_mask_cb;
  cb.recv_retry = ngtcp2_crypto_recv_retry_cb;
  cb.update_key = ngtcp2_crypto_update_key_cb;
  cb.delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  cb.delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  cb.version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  cb.get_path_challenge_data2 = ngtcp2_crypto_get_path_challenge_data2_cb;
  cb.rand = [](uint8_t* dest, size_t len, const ngtcp2_rand_ctx*) { random_bytes(dest, len); };
  cb.get_new_connection_id2 = [](ngtcp2_conn*, ngtcp2_cid* cid, ngtcp2_stateless_reset_token* token, size_t len, void*) {
    cid->datalen = len;
    random_bytes(cid->data, len);
    random_bytes(token->data, sizeof token->data);
    return 0;
  };
  cb.handshake_completed = [](ngtcp2_conn*, void* u) { return self(u)->on_handshake_done(); };
  cb.recv_stream_data = [](ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t, const uint8_t* data, size_t len, void* u, void*) {
    return self(u)->on_stream_data(id, data, len, (flags & NGTCP2_STREAM_DATA_FLAG_FIN) != 0);
  };
  cb.acked_stream_data_offset = [](ngtcp2_conn*, int64_t id, uint64_t, uint64_t len, void* u, void*) { return self(u)->on_acked(id, len); };
  cb.stream_close = [](ngtcp2_conn*, uint32_t flags, int64_t id, uint64_t code, void* u, void*) {
    return self(u)->on_stream_close(id, (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) ? code : NGHTTP3_H3_NO_ERROR);
  };
  cb.extend_max_stream_data = [](ngtcp2_conn*, int64_t id, uint64_t, void* u, void*) {
    H3Mux* m = self(u);
    if (m->h3_ != nullptr) nghttp3_conn_unblock_stream(m->h3_, id);
    return 0;
  };
  cb.stream_reset = [](ngtcp2_conn*, int64_t id, uint64_t, uint64_t, void* u, void*) {
    H3Mux* m = self(u);
    if (m->h3_ != nullptr) nghttp3_conn_shutdown_stream_read(m->h3_, id);
    return 0;
  };
  ngtcp2_cid dcid, scid;
  dcid.datalen = 18;
  random_bytes(dcid.data, dcid.datalen);
  scid.datalen = 18;
  random_bytes(scid.data, scid.datalen);
  ngtcp2_settings settings;
  ngtcp2_settings_default(&settings);
  settings.initial_ts = now();
  settings.handshake_timeout = 10 * NGTCP2_SECONDS;
  ngtcp2_transport_params params;
  ngtcp2_transport_params_default(&params);
  params.initial_max_streams_uni = 3;
  params.initial_max_stream_data_bidi_local = kWindow;
  params.initial_max_stream_data_uni = kWindow;
  params.initial_max_data = kWindow * 64;
  params.max_idle_timeout = 60 * NGTCP2_SECONDS;
  ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(&local_), local_len_},
                   {reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&endpoint_.addr)), endpoint_.addr_len},
                   nullptr};
  if (ngtcp2_conn_client_new(&quic_, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1, &cb, &settings, &params, nullptr, this) != 0)
    return fail_all("ngtcp2_conn_client_new failed");
  ssl_ctx_ = SSL_CTX_new(TLS_client_method());
  ssl_ = ssl_ctx_ != nullptr ? SSL_new(ssl_ctx_) : nullptr;
  if (ssl_ == nullptr || ngtcp2_crypto_ossl_ctx_new(&ossl_, ssl_) != 0 || ngtcp2_crypto_ossl_configure_client_session(ssl_) != 0)
    return fail_all("cannot create the QUIC TLS session");
  SSL_set_app_data(ssl_, conn_ref_);
  SSL_set_connect_state(ssl_);
  static const unsigned char kAlpn[] = {2, 'h', '3'};
  SSL_set_alpn_protos(ssl_, kAlpn, sizeof kAlpn);
  SSL_set_tlsext_host_name(ssl_, "localhost");
  ngtcp2_conn_set_tls_native_handle(quic_, ossl_);
  want_flush();
}

int H3Mux::on_handshake_done() {
  nghttp3_callbacks cb{};
  cb.recv_data = [](nghttp3_conn*, int64_t id, const uint8_t* data, size_t len, void* u, void*) { return self(u)->on_h3_data(id, data, len); };
  cb.deferred_consume = [](nghttp3_conn*, int64_t id, size_t n, void* u, void*) {
    ngtcp2_conn_extend_max_stream_offset(self(u)->quic(), id, n);
    ngtcp2_conn_extend_max_offset(self(u)->quic(), n);
    return 0;
  };
  cb.recv_header = [](nghttp3_conn*, int64_t id, int32_t, nghttp3_rcbuf* name, nghttp3_rcbuf* value, uint8_t, void* u, void*) {
    return self(u)->on_h3_header(id, view(name), view(value));
  };
  cb.end_headers = [](nghttp3_conn*, int64_t id, int, void* u, void*) { return self(u)->on_h3_end_headers(id); };
  cb.acked_stream_data = [](nghttp3_conn*, int64_t id, uint64_t len, void* u, void*) { return self(u)->on_h3_acked(id, len); };
  cb.stream_close = [](nghttp3_conn*, int64_t id, uint64_t code, void* u, void*) { return self(u)->on_h3_stream_close(id, code); };
  cb.end_stream = [](nghttp3_conn*, int64_t id, void* u, void*) { return self(u)->on_h3_end_stream(id); };
  cb.stop_sending = [](nghttp3_conn*, int64_t id, uint64_t code, void* u, void*) {
    ngtcp2_conn_shutdown_stream_read(self(u)->quic(), 0, id, code);
    return 0;
  };
  cb.reset_stream = [](nghttp3_conn*, int64_t id, uint64_t code, void* u, void*) {
    ngtcp2_conn_shutdown_stream_write(self(u)->quic(), 0, id, code);
    return 0;
  };
  cb.recv_settings2 = [](nghttp3_conn*, const nghttp3_proto_settings*, void* u) { return self(u)->on_settings(); };
  nghttp3_settings settings;
  nghttp3_settings_default(&settings);
  if (nghttp3_conn_client_new(&h3_, &cb, &settings, nullptr, this) != 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  int64_t control = -1, enc = -1, dec = -1;
  if (ngtcp2_conn_open_uni_stream(quic_, &control, nullptr) != 0 || nghttp3_conn_bind_control_stream(h3_, control) != 0 ||
      ngtcp2_conn_open_uni_stream(quic_, &enc, nullptr) != 0 || ngtcp2_conn_open_uni_stream(quic_, &dec, nullptr) != 0 ||
      nghttp3_conn_bind_qpack_streams(h3_, enc, dec) != 0)
    return NGTCP2_ERR_CALLBACK_FAILURE;
  return 0;
}

int H3Mux::on_settings() {
  ready_ = true;
  std::vector<Conn*> waiting;
  waiting.swap(waiting_);
  for (Conn* c : waiting) submit(c);
  want_flush();
  return 0;
}

void H3Mux::open(Conn* conn) {
  if (failed_) {
    conn->h2_failed("HTTP/3 connection failed");
    return;
  }
  if (fd_ < 0) connect();
  if (failed_) return;
  if (!ready_) {
    waiting_.push_back(conn);
    return;
  }
  submit(conn);
}

// RFC 9220 §3: the extended CONNECT; the stream's DATA comes from the Conn's queue.
void H3Mux::submit(Conn* conn) {
  int64_t id = -1;
  if (ngtcp2_conn_open_bidi_stream(quic_, &id, nullptr) != 0) {
    conn->h2_failed("HTTP/3: no stream credit (the server's initial_max_streams_bidi)");
    return;
  }
  const std::string& authority = endpoint_.host_header;
  const std::string& path = endpoint_.path;
  auto nv = [](const char* n, size_t nl, const std::string_view v) {
    return nghttp3_nv{reinterpret_cast<const uint8_t*>(n), reinterpret_cast<const uint8_t*>(v.data()), nl, v.size(), NGHTTP3_NV_FLAG_NONE};
  };
  const nghttp3_nv fields[] = {nv(":method", 7, "CONNECT"), nv(":protocol", 9, "websocket"), nv(":scheme", 7, "https"),
                               nv(":path", 5, path), nv(":authority", 10, authority), nv("sec-websocket-version", 21, "13")};
  nghttp3_data_reader reader{[](nghttp3_conn*, int64_t id, nghttp3_vec* vec, size_t veccnt, uint32_t* flags, void* u, void*) -> nghttp3_ssize {
    return self(u)->on_read(id, vec, veccnt, flags);
  }};
  if (nghttp3_conn_submit_request(h3_, id, fields, sizeof fields / sizeof fields[0], &reader, nullptr) != 0) {
    conn->h2_failed("HTTP/3: cannot submit the request");
    return;
  }
  conn->set_h2_stream(id + 1);
  streams_[id].conn = conn;
  want_flush();
}

void H3Mux::resume(Conn* conn) {
  if (conn->h2_stream() > 0 && h3_ != nullptr) nghttp3_conn_resume_stream(h3_, id_of(conn));
  want_flush();
}

void H3Mux::detach(Conn* conn) {
  waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), conn), waiting_.end());
  if (conn->h2_stream() <= 0) return;
  const int64_t id = id_of(conn);
  auto it = streams_.find(id);
  if (it != streams_.end()) it->second.conn = nullptr;  // its chunks stay until acked or closed
  read_.erase(std::remove(read_.begin(), read_.end(), conn), read_.end());
  if (!failed_) {
    ngtcp2_conn_shutdown_stream(quic_, 0, id, NGHTTP3_H3_REQUEST_CANCELLED);
    want_flush();
  }
  conn->set_h2_stream(0);
}

long H3Mux::on_read(int64_t id, void* vecp, size_t veccnt, uint32_t* flags) {
  auto* vec = static_cast<nghttp3_vec*>(vecp);
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.conn == nullptr || veccnt == 0) {
    if (it == streams_.end() || it->second.conn == nullptr) *flags |= NGHTTP3_DATA_FLAG_EOF;
    return 0;
  }
  Stream& st = it->second;
  const size_t want = std::min<size_t>(st.conn->pending_out(), 256 * 1024);
  if (want == 0) return NGHTTP3_ERR_WOULDBLOCK;
  std::vector<uint8_t> chunk(want);
  const size_t n = st.conn->h2_take_output(chunk.data(), chunk.size());
  if (n == 0) return NGHTTP3_ERR_WOULDBLOCK;
  chunk.resize(n);
  st.chunks.push_back(std::move(chunk));
  vec[0] = {st.chunks.back().data(), n};
  st.given += n;
  return 1;
}

int H3Mux::on_acked(int64_t id, uint64_t len) {
  if (h3_ != nullptr) nghttp3_conn_add_ack_offset(h3_, id, len);
  return 0;
}

int H3Mux::on_h3_acked(int64_t id, uint64_t len) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  Stream& st = it->second;
  st.acked_in_front += len;
  while (!st.chunks.empty() && st.acked_in_front >= st.chunks.front().size()) {
    st.acked_in_front -= st.chunks.front().size();
    st.given -= st.chunks.front().size();
    st.chunks.pop_front();
  }
  return 0;
}

int H3Mux::on_stream_data(int64_t id, const uint8_t* data, size_t len, bool fin) {
  const nghttp3_ssize n = nghttp3_conn_read_stream2(h3_, id, data, len, fin, now());
  if (n < 0) return NGTCP2_ERR_CALLBACK_FAILURE;
  ngtcp2_conn_extend_max_stream_offset(quic_, id, static_cast<uint64_t>(n));
  ngtcp2_conn_extend_max_offset(quic_, static_cast<uint64_t>(n));
  return 0;
}

int H3Mux::on_h3_data(int64_t id, const uint8_t* data, size_t len) {
  ngtcp2_conn_extend_max_stream_offset(quic_, id, len);
  ngtcp2_conn_extend_max_offset(quic_, len);
  auto it = streams_.find(id);
  if (it == streams_.end() || it->second.conn == nullptr) return 0;
  Conn* c = it->second.conn;
  if (std::find(read_.begin(), read_.end(), c) == read_.end()) read_.push_back(c);
  c->h2_data(data, len);
  return 0;
}

int H3Mux::on_h3_header(int64_t id, std::string_view name, std::string_view value) {
  auto it = streams_.find(id);
  if (it != streams_.end() && name == ":status") {
    int s = 0;
    for (char ch : value) s = s * 10 + (ch - '0');
    it->second.status = s;
  }
  return 0;
}

int H3Mux::on_h3_end_headers(int64_t id) {
  auto it = streams_.find(id);
  if (it != streams_.end() && it->second.conn != nullptr && !it->second.conn->is_open()) it->second.conn->h2_response(it->second.status);
  return 0;
}

int H3Mux::on_h3_end_stream(int64_t id) {
  auto it = streams_.find(id);
  if (it != streams_.end() && it->second.conn != nullptr) it->second.conn->h2_end();
  return 0;
}

int H3Mux::on_stream_close(int64_t id, uint64_t code) {
  if (h3_ != nullptr) {
    const int rv = nghttp3_conn_close_stream(h3_, id, code);
    if (rv != 0 && rv != NGHTTP3_ERR_STREAM_NOT_FOUND) return NGTCP2_ERR_CALLBACK_FAILURE;
  }
  return 0;
}

int H3Mux::on_h3_stream_close(int64_t id, uint64_t code) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return 0;
  Conn* c = it->second.conn;
  streams_.erase(it);
  if (c != nullptr) {
    read_.erase(std::remove(read_.begin(), read_.end(), c), read_.end());
    c->set_h2_stream(0);
    c->h2_closed(code == NGHTTP3_H3_NO_ERROR ? "" : "stream reset: 0x" + std::to_string(code));
  }
  return 0;
}

void H3Mux::want_flush() {
  if (!flush_queued_ && !failed_) {
    flush_queued_ = true;
    loop_.defer_flush(this);
  }
}

void H3Mux::on_io(uint32_t events) {
  if (failed_) return;
  if (events & (EPOLLIN | EPOLLERR)) {
    uint8_t* buf = loop_.recv_buffer();
    const size_t cap = std::min<size_t>(loop_.recv_capacity(), 65536);
    ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(&local_), local_len_},
                     {reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&endpoint_.addr)), endpoint_.addr_len},
                     nullptr};
    for (int i = 0; i < 1024; i++) {
      const ssize_t n = recv(fd_, buf, cap, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        return fail_all(std::string("recv: ") + strerror(errno));
      }
      ngtcp2_pkt_info pi{};
      const int rv = ngtcp2_conn_read_pkt(quic_, &path, &pi, buf, static_cast<size_t>(n), now());
      if (rv != 0) return fail_all(std::string("QUIC: ") + ngtcp2_strerror(rv));
    }
    std::vector<Conn*> touched;
    touched.swap(read_);
    for (Conn* c : touched) c->h2_read_done();
    want_flush();
  }
  if (events & EPOLLOUT) want_flush();
}

void H3Mux::Timer::on_io(uint32_t) {
  uint64_t expirations;
  while (read(mux->timer_fd_, &expirations, sizeof expirations) > 0) {
  }
  if (mux->failed_ || mux->quic_ == nullptr) return;
  const int rv = ngtcp2_conn_handle_expiry(mux->quic_, now());
  if (rv != 0) return mux->fail_all(std::string("QUIC: ") + ngtcp2_strerror(rv));
  mux->want_flush();
}

bool H3Mux::send_batch(const uint8_t* data, size_t len, size_t segment) {
  iovec iov{const_cast<uint8_t*>(data), len};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))] = {};
  if (segment < len) {
    h.msg_control = control;
    h.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t seg = static_cast<uint16_t>(segment);
    std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
  }
  if (sendmsg(fd_, &h, 0) >= 0) return true;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
    blocked_.assign(data, data + len);
    blocked_segment_ = segment;
    return false;
  }
  fail_all(std::string("sendmsg: ") + strerror(errno));
  return false;
}

void H3Mux::write_packets() {
  const size_t max = ngtcp2_conn_get_max_tx_udp_payload_size(quic_);
  uint8_t* buf = packets_.data();
  size_t off = 0;
  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi;
  const uint64_t ts = now();
  size_t packets = 0;
  bool filling = false;  // a packet ngtcp2 is still filling must be finished (NGTCP2_ERR_WRITE_MORE)
  while (!failed_ && (filling || packets < 4096)) {
    int64_t stream = -1;
    int fin = 0;
    nghttp3_vec vec[16];
    nghttp3_ssize veccnt = 0;
    if (h3_ != nullptr && ngtcp2_conn_get_max_data_left(quic_) > 0) {
      veccnt = nghttp3_conn_writev_stream(h3_, &stream, &fin, vec, 16);
      if (veccnt < 0) return fail_all("HTTP/3: nghttp3_conn_writev_stream failed");
    }
    ngtcp2_ssize ndatalen = -1;
    const uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE | (fin ? NGTCP2_WRITE_STREAM_FLAG_FIN : 0);
    const ngtcp2_ssize n = ngtcp2_conn_writev_stream(quic_, &ps.path, &pi, buf + off, max, &ndatalen, flags, stream,
                                                    reinterpret_cast<const ngtcp2_vec*>(vec), static_cast<size_t>(veccnt), ts);
    if (n < 0) {
      if (n == NGTCP2_ERR_STREAM_DATA_BLOCKED) {
        nghttp3_conn_block_stream(h3_, stream);
        continue;
      }
      if (n == NGTCP2_ERR_STREAM_SHUT_WR) {
        nghttp3_conn_shutdown_stream_write(h3_, stream);
        continue;
      }
      if (n == NGTCP2_ERR_WRITE_MORE) {
        filling = true;
        nghttp3_conn_add_write_offset(h3_, stream, static_cast<size_t>(ndatalen));
        continue;
      }
      return fail_all(std::string("QUIC: ") + ngtcp2_strerror(static_cast<int>(n)));
    }
    filling = false;
    if (ndatalen >= 0 && stream >= 0) nghttp3_conn_add_write_offset(h3_, stream, static_cast<size_t>(ndatalen));
    if (n == 0) break;
    packets++;
    off += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < max || off + max > kBatch) {
      if (!send_batch(buf, off, max)) return;
      off = 0;
    }
  }
  if (off > 0) send_batch(buf, off, max);
  ngtcp2_conn_update_pkt_tx_time(quic_, ts);
}

void H3Mux::arm_timer() {
  if (failed_ || quic_ == nullptr) return;
  const uint64_t expiry = ngtcp2_conn_get_expiry(quic_);
  itimerspec it{};
  if (expiry != UINT64_MAX) {
    const uint64_t t = now();
    const uint64_t in = expiry > t ? expiry - t : 1;
    it.it_value.tv_sec = static_cast<time_t>(in / NGTCP2_SECONDS);
    it.it_value.tv_nsec = static_cast<long>(in % NGTCP2_SECONDS);
    if (it.it_value.tv_sec == 0 && it.it_value.tv_nsec == 0) it.it_value.tv_nsec = 1;
  }
  timerfd_settime(timer_fd_, 0, &it, nullptr);
}

void H3Mux::flush() {
  flush_queued_ = false;
  if (failed_ || quic_ == nullptr) return;
  if (!blocked_.empty()) {
    std::vector<uint8_t> batch;
    batch.swap(blocked_);
    if (!send_batch(batch.data(), batch.size(), blocked_segment_)) return;  // the next EPOLLOUT goes on
  }
  write_packets();
  arm_timer();
}

void H3Mux::fail_all(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  std::unordered_map<int64_t, Stream> all;
  all.swap(streams_);
  for (auto& [id, st] : all) {
    if (st.conn == nullptr) continue;
    st.conn->set_h2_stream(0);
    st.conn->h2_failed(why);
  }
  std::vector<Conn*> waiting;
  waiting.swap(waiting_);
  for (Conn* c : waiting) c->h2_failed(why);
  read_.clear();
}

}  // namespace sockudo::loadgen
