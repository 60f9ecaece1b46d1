#include "h2_mux.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "conn.h"

namespace sockudo::loadgen {

namespace {

H2Mux* self(void* p) { return static_cast<H2Mux*>(p); }

int header_cb(nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t nlen, const uint8_t* value, size_t vlen, uint8_t,
              void* u) {
  if (f->hd.type != NGHTTP2_HEADERS) return 0;
  return self(u)->on_header(f->hd.stream_id, {reinterpret_cast<const char*>(name), nlen}, {reinterpret_cast<const char*>(value), vlen});
}
int frame_recv_cb(nghttp2_session*, const nghttp2_frame* f, void* u) { return self(u)->on_frame_recv(f->hd.type, f->hd.stream_id, f->hd.flags); }
int data_cb(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t len, void* u) { return self(u)->on_data(stream, data, len); }
int close_cb(nghttp2_session*, int32_t stream, uint32_t code, void* u) { return self(u)->on_stream_close(stream, code); }
nghttp2_ssize send_cb(nghttp2_session*, const uint8_t* data, size_t len, int, void* u) { return self(u)->on_send(data, len); }
nghttp2_ssize read_cb(nghttp2_session*, int32_t stream, uint8_t* buf, size_t len, uint32_t* flags, nghttp2_data_source*, void* u) {
  return self(u)->on_read(stream, buf, len, flags);
}

}  // namespace

H2Mux::H2Mux(Loop& loop, const Endpoint& endpoint, TlsContext* tls) : loop_(loop), endpoint_(endpoint), tls_ctx_(tls) {
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, header_cb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_recv_cb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_cb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, close_cb);
  nghttp2_session_callbacks_set_send_callback2(cb, send_cb);
  nghttp2_session_client_new(&ng_, cb, this);
  nghttp2_session_callbacks_del(cb);
  // Large windows: the load generator reads at once, the server's sends should not wait for us.
  const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}, {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 16 << 20},
                                             {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 1 << 16}};
  nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, settings, 3);
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, 1 << 30);
}

H2Mux::~H2Mux() {
  if (fd_ >= 0) ::close(fd_);
  nghttp2_session_del(ng_);
}

void H2Mux::connect() {
  fd_ = socket(endpoint_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return fail_all(std::string("socket: ") + strerror(errno));
  const int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = ::connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint_.addr), endpoint_.addr_len);
  if (rc != 0 && errno != EINPROGRESS) return fail_all(std::string("connect: ") + strerror(errno));
  if (!loop_.add(fd_, this)) return fail_all(std::string("epoll_ctl: ") + strerror(errno));
  if (rc == 0) up();
}

// TCP is connected: with TLS the handshake comes first (connected_ once it is done, ALPN h2).
void H2Mux::up() {
  if (tls_ctx_ != nullptr && !tls_) {
    tls_ = std::make_unique<TlsSession>(*tls_ctx_);
    if (!tls_->ok()) return fail_all("TLS: cannot create the session: " + tls_->error());
    if (tls_->handshake() == TlsSession::Status::Error) return fail_all("TLS handshake failed: " + tls_->error());
    want_flush();
    return;
  }
  connected_ = true;
  want_flush();
}

bool H2Mux::write_cipher() {
  while (tls_->out_len() > 0) {
    const ssize_t w = ::send(fd_, tls_->out_data(), tls_->out_len(), MSG_NOSIGNAL);
    if (w > 0) {
      tls_->out_consume(static_cast<size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    fail_all(std::string("write: ") + strerror(w < 0 ? errno : EIO));
    return false;
  }
  return true;
}

void H2Mux::input(const uint8_t* data, size_t len) {
  const nghttp2_ssize rv = nghttp2_session_mem_recv2(ng_, data, len);
  if (rv < 0) fail_all(std::string("HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
}

void H2Mux::open(Conn* conn) {
  if (failed_) {
    conn->h2_failed("HTTP/2 connection failed");
    return;
  }
  if (fd_ < 0) connect();
  if (failed_) return;
  submit(conn);
}

// RFC 8441 §4: the extended CONNECT; the stream's DATA comes from the Conn's queue.
void H2Mux::submit(Conn* conn) {
  const std::string authority = endpoint_.host_header;
  const std::string path = endpoint_.path;
  const nghttp2_nv nv[] = {
      {(uint8_t*)":method", (uint8_t*)"CONNECT", 7, 7, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t*)":protocol", (uint8_t*)"websocket", 9, 9, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t*)":scheme", (uint8_t*)"http", 7, 4, NGHTTP2_NV_FLAG_NONE},
      {(uint8_t*)":path", (uint8_t*)path.data(), 5, path.size(), NGHTTP2_NV_FLAG_NONE},
      {(uint8_t*)":authority", (uint8_t*)authority.data(), 10, authority.size(), NGHTTP2_NV_FLAG_NONE},
      {(uint8_t*)"sec-websocket-version", (uint8_t*)"13", 21, 2, NGHTTP2_NV_FLAG_NONE},
  };
  nghttp2_data_provider2 provider{};
  provider.read_callback = read_cb;
  const int32_t id = nghttp2_submit_request2(ng_, nullptr, nv, sizeof nv / sizeof nv[0], &provider, conn);
  if (id < 0) {
    conn->h2_failed(std::string("HTTP/2: ") + nghttp2_strerror(id));
    return;
  }
  conn->set_h2_stream(id);
  streams_[id] = conn;
  want_flush();
}

void H2Mux::resume(Conn* conn) {
  if (conn->h2_stream() > 0) nghttp2_session_resume_data(ng_, conn->h2_stream());
  want_flush();
}

void H2Mux::detach(Conn* conn) {
  const int32_t id = conn->h2_stream();
  if (id <= 0) return;
  streams_.erase(id);
  status_.erase(id);
  if (!failed_ && nghttp2_session_get_stream_user_data(ng_, id) != nullptr) {
    nghttp2_session_set_stream_user_data(ng_, id, nullptr);
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
    want_flush();
  }
  conn->set_h2_stream(0);
}

void H2Mux::want_flush() {
  if (!flush_queued_) {
    flush_queued_ = true;
    loop_.defer_flush(this);
  }
}

void H2Mux::on_io(uint32_t events) {
  if (failed_) return;
  if (!connected_ && !tls_) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return fail_all(std::string("connect: ") + strerror(err));
    up();
    if (failed_) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    uint8_t* buf = loop_.recv_buffer();
    const size_t cap = loop_.recv_capacity();
    for (;;) {
      const ssize_t n = read(fd_, buf, cap);
      if (n > 0) {
        if (tls_) {
          tls_->feed(buf, static_cast<size_t>(n));
          if (!tls_->established()) {
            const TlsSession::Status st = tls_->handshake();
            if (st == TlsSession::Status::Error) return fail_all("TLS handshake failed: " + tls_->error());
            if (!tls_->established()) {
              want_flush();
              if (static_cast<size_t>(n) < cap) break;
              continue;
            }
            // RFC 9113 §3.2: the server must have chosen "h2".
            if (tls_->alpn() != "h2") return fail_all("the server did not select h2 by ALPN");
            connected_ = true;
            want_flush();
          }
          uint8_t* plain = tls_ctx_->plain_buffer();
          for (;;) {
            size_t got = 0;
            const TlsSession::Status st = tls_->read(plain, tls_ctx_->plain_capacity(), got);
            if (st == TlsSession::Status::Ok) {
              input(plain, got);
              if (failed_) return;
              continue;
            }
            if (st == TlsSession::Status::WantInput) break;
            return fail_all(st == TlsSession::Status::Closed ? "the server closed the HTTP/2 connection" : "TLS: " + tls_->error());
          }
        } else {
          input(buf, static_cast<size_t>(n));
        }
        if (failed_) return;
        if (static_cast<size_t>(n) < cap) break;
        continue;
      }
      if (n == 0) return fail_all("the server closed the HTTP/2 connection");
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return fail_all(std::string("read: ") + strerror(errno));
    }
    std::vector<Conn*> touched;
    touched.swap(read_);
    for (Conn* c : touched) c->h2_read_done();
    want_flush();
  }
  if (events & EPOLLOUT) want_flush();
}

void H2Mux::flush() {
  flush_queued_ = false;
  if (failed_) return;
  if (tls_) {
    // The handshake's flights, then HTTP/2 frames: nghttp2 stops producing at 1 MiB of waiting
    // ciphertext (on_send), so go on while the socket takes it all and frames remain.
    for (;;) {
      if (!write_cipher() || !connected_) return;  // blocked: the next EPOLLOUT continues
      if (!nghttp2_session_want_write(ng_)) return;
      const int rv = nghttp2_session_send(ng_);
      if (rv != 0) return fail_all(std::string("HTTP/2: ") + nghttp2_strerror(rv));
    }
  }
  if (!connected_) return;
  if (!unsent_.empty()) {
    const ssize_t w = ::send(fd_, unsent_.data(), unsent_.size(), MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return fail_all(std::string("write: ") + strerror(errno));
    if (w > 0) unsent_.erase(unsent_.begin(), unsent_.begin() + w);
    if (!unsent_.empty()) return;  // the rest on the next EPOLLOUT
  }
  const int rv = nghttp2_session_send(ng_);
  if (rv != 0) fail_all(std::string("HTTP/2: ") + nghttp2_strerror(rv));
}

long H2Mux::on_send(const uint8_t* data, size_t len) {
  if (tls_) {  // encrypted whole; at most 1 MiB of ciphertext waits for the socket
    if (tls_->out_len() >= (1u << 20)) return NGHTTP2_ERR_WOULDBLOCK;
    if (!tls_->write(data, len)) return NGHTTP2_ERR_CALLBACK_FAILURE;
    return static_cast<long>(len);
  }
  if (!unsent_.empty()) return NGHTTP2_ERR_WOULDBLOCK;
  const ssize_t w = ::send(fd_, data, len, MSG_NOSIGNAL);
  if (w < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return NGHTTP2_ERR_WOULDBLOCK;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
  }
  if (static_cast<size_t>(w) < len) unsent_.assign(data + w, data + len);  // taken whole; the rest waits here
  return static_cast<long>(len);
}

long H2Mux::on_read(int32_t stream, uint8_t* buf, size_t len, uint32_t* flags) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  const size_t n = it->second->h2_take_output(buf, len);
  if (n == 0) {
    if (it->second->h2_wants_end()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      return 0;
    }
    return NGHTTP2_ERR_DEFERRED;
  }
  return static_cast<long>(n);
}

int H2Mux::on_header(int32_t stream, std::string_view name, std::string_view value) {
  if (name == ":status") {
    int s = 0;
    for (char c : value) s = s * 10 + (c - '0');
    status_[stream] = s;
  }
  return 0;
}

int H2Mux::on_frame_recv(int type, int32_t stream, uint8_t flags) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return 0;
  Conn* c = it->second;
  if (type == NGHTTP2_HEADERS && status_.count(stream) && !c->is_open()) c->h2_response(status_[stream]);
  if ((type == NGHTTP2_HEADERS || type == NGHTTP2_DATA) && (flags & NGHTTP2_FLAG_END_STREAM) != 0 && streams_.count(stream))
    c->h2_end();
  return 0;
}

int H2Mux::on_data(int32_t stream, const uint8_t* data, size_t len) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return 0;
  Conn* c = it->second;
  if (std::find(read_.begin(), read_.end(), c) == read_.end()) read_.push_back(c);
  c->h2_data(data, len);
  return 0;
}

int H2Mux::on_stream_close(int32_t stream, uint32_t error_code) {
  auto it = streams_.find(stream);
  if (it == streams_.end()) return 0;
  Conn* c = it->second;
  streams_.erase(it);
  status_.erase(stream);
  read_.erase(std::remove(read_.begin(), read_.end(), c), read_.end());
  c->set_h2_stream(0);
  c->h2_closed(error_code == NGHTTP2_NO_ERROR ? "" : std::string("stream reset: ") + nghttp2_http2_strerror(error_code));
  return 0;
}

void H2Mux::fail_all(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  std::unordered_map<int32_t, Conn*> all;
  all.swap(streams_);
  for (auto& [id, c] : all) {
    c->set_h2_stream(0);
    c->h2_failed(why);
  }
  read_.clear();
}

}  // namespace sockudo::loadgen
