#include "transport/tls_link.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstring>

#include "transport/event_loop.h"
#include "transport/fd_link.h"
#include "transport/tcp.h"
#include "transport/uring_link.h"

namespace sockudo::transport {

namespace {

int bio_write(BIO* bio, const char* data, int len) {
  auto* link = static_cast<TlsLink*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  link->append_output(reinterpret_cast<const uint8_t*>(data), static_cast<size_t>(len));
  return len;
}

int bio_read(BIO* bio, char* buf, int cap) {
  auto* link = static_cast<TlsLink*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const size_t n = link->take_input(reinterpret_cast<uint8_t*>(buf), static_cast<size_t>(cap));
  if (n == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  return static_cast<int>(n);
}

long bio_ctrl(BIO*, int cmd, long, void*) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

bool is_ip_literal(const std::string& host) {
  in6_addr a6;
  in_addr a4;
  return inet_pton(AF_INET, host.c_str(), &a4) == 1 || inet_pton(AF_INET6, host.c_str(), &a6) == 1;
}

}  // namespace

BIO_METHOD* new_link_bio_method() {
  BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockudo-ws link");
  if (m == nullptr) return nullptr;
  BIO_meth_set_write(m, bio_write);
  BIO_meth_set_read(m, bio_read);
  BIO_meth_set_ctrl(m, bio_ctrl);
  BIO_meth_set_create(m, bio_create);
  return m;
}

TlsLink::TlsLink(Loop& loop, std::unique_ptr<Link> inner, std::shared_ptr<TlsContext> context, bool server)
    : loop_(loop), inner_(std::move(inner)), context_(std::move(context)), server_(server) {}

TlsLink::~TlsLink() {
  if (ssl_ != nullptr) SSL_free(ssl_);  // frees the BIO too
}

bool TlsLink::init(LinkFailure* error) {
  ERR_clear_error();
  ssl_ = SSL_new(context_->ctx());
  BIO* bio = ssl_ != nullptr ? BIO_new(context_->bio_method()) : nullptr;
  if (bio == nullptr) {
    *error = openssl_failure("cannot create a TLS connection");
    return false;
  }
  BIO_set_data(bio, this);
  SSL_set_bio(ssl_, bio, bio);
  inner_->set_events(this);
  return true;
}

std::unique_ptr<TlsLink> TlsLink::server(Loop& loop, std::unique_ptr<Link> inner, std::shared_ptr<TlsServerContexts> contexts,
                                         LinkFailure* error) {
  std::unique_ptr<TlsLink> link(new TlsLink(loop, std::move(inner), contexts->fallback(), true));
  link->contexts_ = std::move(contexts);
  if (!link->init(error)) return nullptr;
  SSL_set_app_data(link->ssl_, link->contexts_.get());  // the SNI callback's table (tls_context.cc)
  SSL_set_accept_state(link->ssl_);
  link->update_inner();
  return link;
}

std::unique_ptr<TlsLink> TlsLink::client(Loop& loop, std::unique_ptr<Link> inner, const TlsClientParams& params,
                                         LinkFailure* error) {
  std::unique_ptr<TlsLink> link(new TlsLink(loop, std::move(inner), params.context, false));
  if (!link->init(error)) return nullptr;
  SSL* ssl = link->ssl_;
  SSL_set_connect_state(ssl);
  const std::string& host = params.servername;
  bool ok = true;
  if (!host.empty()) {
    if (is_ip_literal(host)) {
      // RFC 6066 §3: no SNI for an address; the certificate must name the address itself.
      ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1;
    } else {
      ok = SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
    }
  }
  if (!ok) {
    *error = openssl_failure("invalid servername");
    return nullptr;
  }
  link->update_inner();
  return link;
}

// --- input -------------------------------------------------------------------------------------

size_t TlsLink::take_input(uint8_t* buf, size_t cap) {
  size_t n = 0;
  if (in_pos_ < in_.size()) {
    n = std::min(cap, in_.size() - in_pos_);
    std::memcpy(buf, in_.data() + in_pos_, n);
    in_pos_ += n;
    if (in_pos_ == in_.size()) {
      std::vector<uint8_t>().swap(in_);  // kept input can be a whole read: give it back
      in_pos_ = 0;
    }
    return n;
  }
  if (span_len_ > 0) {
    n = std::min(cap, span_len_);
    std::memcpy(buf, span_, n);
    span_ += n;
    span_len_ -= n;
  }
  return n;
}

void TlsLink::on_link_data(uint8_t* data, size_t len) {
  span_ = data;
  span_len_ = len;
  drive();
}

void TlsLink::pump() {
  if (closed_ || !want_read_ || in_.size() == in_pos_) return;
  drive();
}

void TlsLink::drive() {
  if (in_drive_) return;  // a write() from inside a delivery: the outer drive continues
  in_drive_ = true;
  if (!handshake_done_ && !handshake()) {
    in_drive_ = false;
    if (!closed_) keep_rest();
    return;
  }
  if (!closed_) read_records();
  in_drive_ = false;
  if (closed_) return;
  keep_rest();
  int error = 0;
  const bool flushed = flush_out(&error);  // alerts, KeyUpdate answers, session tickets
  if (error != 0 && events_ != nullptr) {
    events_->on_link_eof(error);
    return;
  }
  update_inner();
  // The kernel may have taken the rest of what the session was waiting on: the inner link will
  // not report writability for it any more, so report it here.
  if (flushed) after_flush();
}

void TlsLink::after_flush() {
  if (closed_) return;
  if (shutdown_pending_) {
    shutdown_pending_ = false;
    inner_->shutdown_write();
  }
  if (upper_blocked_ && events_ != nullptr) {
    upper_blocked_ = false;
    events_->on_link_writable();
  }
}

// Ciphertext of this read that was not processed (the session stopped input) waits in in_.
void TlsLink::keep_rest() {
  if (span_len_ > 0) {
    in_.insert(in_.end(), span_, span_ + span_len_);
    span_len_ = 0;
  }
  span_ = nullptr;
}

bool TlsLink::handshake() {
  ERR_clear_error();
  const int r = SSL_do_handshake(ssl_);
  if (r != 1) {
    const int e = SSL_get_error(ssl_, r);
    int error = 0;
    flush_out(&error);  // our flight (ServerHello..., or an alert)
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
      update_inner();
      return false;
    }
    fail(openssl_failure(server_ ? "TLS handshake with a client failed" : "TLS handshake failed"));
    return false;
  }
  handshake_done_ = true;
  const unsigned char* proto = nullptr;
  unsigned int proto_len = 0;
  SSL_get0_alpn_selected(ssl_, &proto, &proto_len);
  if (proto != nullptr) alpn_.assign(reinterpret_cast<const char*>(proto), proto_len);
  if (!server_) {
    const long v = SSL_get0_peer_certificate(ssl_) != nullptr ? SSL_get_verify_result(ssl_)
                                                               : X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY;
    if (v != X509_V_OK && context_->reject_unauthorized()) {
      fail({verify_error_code(v), std::string("the server's certificate was refused: ") + X509_verify_cert_error_string(v)});
      return false;
    }
  }
  int error = 0;
  flush_out(&error);
  update_inner();
  if (!server_ && events_ != nullptr) {
    events_->on_link_connected();
    if (closed_) return false;
  }
  if (upper_blocked_ && out_pos_ == out_.size() && events_ != nullptr) {
    upper_blocked_ = false;
    events_->on_link_writable();
    if (closed_) return false;
  }
  return true;
}

void TlsLink::read_records() {
  uint8_t* plain = loop_.tls_buffer();
  // No ERR_clear_error() per record (it showed in profiles): this OpenSSL is the addon's own
  // (Node's is another copy), and every failure path empties the thread's queue
  // (openssl_failure), so it is empty before each call as SSL_get_error() needs.
  while (!closed_ && want_read_) {
    const int n = SSL_read(ssl_, plain, static_cast<int>(Loop::kTlsBufferSize));
    if (n > 0) {
      events_->on_link_data(plain, static_cast<size_t>(n));
      continue;
    }
    const int e = SSL_get_error(ssl_, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    if (e == SSL_ERROR_ZERO_RETURN) {  // the peer's close_notify
      events_->on_link_eof(0);
      return;
    }
    fail(openssl_failure("TLS record error"));
    return;
  }
}

// --- output ------------------------------------------------------------------------------------

LinkWrite TlsLink::write(std::span<const io::Slice> slices) {
  LinkWrite r;
  if (closed_ || failed_) {
    r.error = -EPIPE;
    return r;
  }
  int error = 0;
  if (!handshake_done_ || !flush_out(&error)) {
    r.error = error;
    r.blocked = error == 0;
    upper_blocked_ = r.blocked;
    return r;
  }
  // Small slices (frame headers, small messages, a publish's frames) are gathered into records
  // of up to 16 KiB: one MAC and one header per record rather than per slice.
  uint8_t* staging = loop_.tls_write_buffer();
  size_t staged = 0;
  auto seal = [&](const uint8_t* data, size_t len) { return len == 0 || SSL_write(ssl_, data, static_cast<int>(len)) > 0; };
  // Nothing is waiting (flush_out emptied out_): the records go to the loop's scratch and from
  // there straight to the kernel; only what the kernel refuses is copied into out_. No
  // allocation per write, and an idle connection holds no ciphertext buffer.
  std::vector<uint8_t>& scratch = loop_.tls_cipher_scratch();
  scratch.clear();
  sink_ = &scratch;
  bool ok = true;
  for (const io::Slice& s : slices) {
    if (r.taken + staged >= kMaxEncryptPerWrite) break;
    if (s.len <= Loop::kTlsWriteBufferSize - staged) {
      std::memcpy(staging + staged, s.data, s.len);
      staged += s.len;
      continue;
    }
    if (!(ok = seal(staging, staged))) break;
    r.taken += staged;
    staged = 0;
    const size_t len = std::min(s.len, kMaxEncryptPerWrite - r.taken);
    if (!(ok = seal(s.data, len))) break;
    r.taken += len;
    if (len < s.len) break;
  }
  if (ok && staged > 0) {
    ok = seal(staging, staged);
    if (ok) r.taken += staged;
  }
  sink_ = &out_;
  if (!ok) {
    ERR_clear_error();
    r.error = -EPROTO;
    return r;
  }
  size_t pos = 0;
  while (pos < scratch.size()) {
    const io::Slice slice{scratch.data() + pos, scratch.size() - pos};
    const LinkWrite w = inner_->write(std::span<const io::Slice>(&slice, 1));
    pos += w.taken;
    if (w.error != 0) {
      r.error = w.error;
      return r;
    }
    if (w.blocked) break;
  }
  if (pos < scratch.size()) {
    out_.assign(scratch.begin() + static_cast<std::ptrdiff_t>(pos), scratch.end());
    out_pos_ = 0;
    r.blocked = true;
    upper_blocked_ = true;
    update_inner();
  }
  return r;
}

bool TlsLink::flush_out(int* error) {
  while (out_pos_ < out_.size()) {
    const io::Slice slice{out_.data() + out_pos_, out_.size() - out_pos_};
    const LinkWrite w = inner_->write(std::span<const io::Slice>(&slice, 1));
    out_pos_ += w.taken;
    if (w.error != 0) {
      *error = w.error;
      return false;
    }
    if (w.blocked && out_pos_ < out_.size()) {
      update_inner();
      return false;
    }
  }
  // Nothing waits: give the memory back (an idle connection keeps no buffers).
  std::vector<uint8_t>().swap(out_);
  out_pos_ = 0;
  return true;
}

void TlsLink::on_link_writable() {
  int error = 0;
  if (!flush_out(&error)) {
    if (error != 0 && events_ != nullptr) events_->on_link_eof(error);
    return;
  }
  update_inner();
  after_flush();
}

void TlsLink::set_wants(bool read, bool) {
  const bool was = want_read_;
  want_read_ = read;
  update_inner();
  if (read && !was && in_pos_ < in_.size() && events_ != nullptr) events_->on_link_pending();
}

void TlsLink::update_inner() {
  if (closed_) return;
  // The handshake always reads; afterwards the inner link reads only while the session wants
  // input and nothing kept is waiting for it. It waits for writability while ciphertext waits.
  const bool read = !handshake_done_ || (want_read_ && in_pos_ == in_.size());
  inner_->set_wants(read, out_pos_ < out_.size());
}

bool TlsLink::shutdown_write() {
  if (closed_ || failed_ || !handshake_done_) return false;
  ERR_clear_error();
  SSL_shutdown(ssl_);  // queues close_notify (RFC 8446 §6.1); we do not wait for the peer's
  int error = 0;
  if (flush_out(&error)) return inner_->shutdown_write();
  if (error != 0) return false;
  shutdown_pending_ = true;
  return true;
}

// --- inner link events ---------------------------------------------------------------------------

void TlsLink::on_link_connected() {
  span_ = nullptr;
  span_len_ = 0;
  drive();  // sends the ClientHello
}

void TlsLink::on_link_eof(int error) {
  if (events_ != nullptr) events_->on_link_eof(error);
}

void TlsLink::on_link_failed(const LinkFailure& failure) { fail(failure); }

void TlsLink::fail(const LinkFailure& failure) {
  if (failed_ || closed_) return;
  failed_ = true;
  if (events_ != nullptr) events_->on_link_failed(failure);
}

void TlsLink::close(void (*done)(void*), void* arg) {
  if (closed_) return;
  closed_ = true;
  inner_->close(done, arg);
}

std::unique_ptr<Link> connect_client_link(Loop& loop, const std::string& ip, uint16_t port, const TlsClientParams* tls,
                                          int* error, LinkFailure* failure, bool io_uring) {
  const int fd = tcp_connect(ip, port);
  if (fd < 0) {
    *error = -fd;
    return nullptr;
  }
  *error = 0;
  UringRing* ring = io_uring ? loop.uring(nullptr) : nullptr;
  std::unique_ptr<Link> link;
  if (ring != nullptr) link = std::make_unique<UringLink>(loop, *ring, fd, true);
  else link = std::make_unique<FdLink>(loop, fd, true);
  if (tls == nullptr) return link;
  link = TlsLink::client(loop, std::move(link), *tls, failure);
  if (!link) *error = EPROTO;
  return link;
}

}  // namespace sockudo::transport
