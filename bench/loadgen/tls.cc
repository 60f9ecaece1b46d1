// OpenSSL client side of --tls. The custom BIO is the only I/O OpenSSL sees: reads come from the
// ciphertext the connection fed in (the loop's receive buffer, not copied), writes append to the
// session's output buffer. With read-ahead on, OpenSSL pulls whole records from what was fed.
#include "tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace sockudo::loadgen {
namespace {

constexpr size_t kPlainBuffer = 256 * 1024;
constexpr unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr const char* kServerName = "localhost";

std::string drain_errors() {
  std::string text;
  char buf[256];
  while (const unsigned long e = ERR_get_error()) {
    ERR_error_string_n(e, buf, sizeof buf);
    if (!text.empty()) text += "; ";
    text += buf;
  }
  return text;
}

}  // namespace

bool tls_groups_valid(const std::string& groups, std::string& error) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  const bool ok = ctx && SSL_CTX_set1_groups_list(ctx, groups.c_str()) == 1;
  if (!ok) {
    error = drain_errors();
    if (error.empty()) error = "not a usable groups list";
  }
  if (ctx) SSL_CTX_free(ctx);
  return ok;
}

TlsContext::TlsContext(const std::string& groups, bool resume, bool release_buffers)
    : resume_(resume), plain_(kPlainBuffer), stage_(kRecord) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) throw std::runtime_error("TLS: SSL_CTX_new failed: " + drain_errors());
  SSL_CTX_set_app_data(ctx_, this);
  SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // self-signed certificates on loopback
  // A renegotiation request is refused (no_renegotiation alert), so SSL_write never has to read.
  SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION);
  SSL_CTX_set_read_ahead(ctx_, 1);
  if (release_buffers) SSL_CTX_set_mode(ctx_, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set1_groups_list(ctx_, groups.c_str()) != 1) {
    throw std::runtime_error("TLS: groups '" + groups + "' refused: " + drain_errors());
  }
  if (SSL_CTX_set_alpn_protos(ctx_, kAlpn, sizeof kAlpn) != 0) {  // 0 is success here
    throw std::runtime_error("TLS: cannot set ALPN: " + drain_errors());
  }
  if (resume_) {
    // Client-side caching only reports sessions through the callback; nothing is stored inside.
    SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx_, &TlsContext::on_new_session);
  }
  method_ = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sockudo-loadgen");
  if (!method_ || !BIO_meth_set_read(method_, &TlsSession::bio_read) ||
      !BIO_meth_set_write(method_, &TlsSession::bio_write) || !BIO_meth_set_ctrl(method_, &TlsSession::bio_ctrl)) {
    throw std::runtime_error("TLS: cannot create the BIO method: " + drain_errors());
  }
}

TlsContext::~TlsContext() {
  if (session_) SSL_SESSION_free(session_);
  if (ctx_) SSL_CTX_free(ctx_);
  if (method_) BIO_meth_free(method_);
}

// TLS 1.3 delivers sessions after the handshake (NewSessionTicket), TLS 1.2 at its end; either
// way the first resumable one is kept for the rest of the run. A private copy: OpenSSL marks a
// session it has attached to a connection not resumable when a TLS 1.3 resumption with it
// completes ("use tickets once") or when that connection ends without close_notify, and every
// later connection must still be able to offer it.
int TlsContext::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* self = static_cast<TlsContext*>(SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)));
  if (!self->session_ && SSL_SESSION_is_resumable(session)) self->session_ = SSL_SESSION_dup(session);
  return 0;  // the caller keeps its reference
}

TlsSession::TlsSession(TlsContext& ctx) {
  SSL* ssl = SSL_new(ctx.ctx_);
  BIO* bio = ssl ? BIO_new(ctx.method_) : nullptr;
  if (!bio) {
    if (ssl) SSL_free(ssl);
    return;
  }
  BIO_set_data(bio, this);
  BIO_set_init(bio, 1);
  SSL_set_bio(ssl, bio, bio);  // one reference, owned by ssl
  SSL_set_connect_state(ssl);
  if (!SSL_set_tlsext_host_name(ssl, kServerName)) {
    SSL_free(ssl);
    return;
  }
  if (ctx.session_) {  // --tls-resume: a fresh copy of the kept session, which itself stays pristine
    SSL_SESSION* copy = SSL_SESSION_dup(ctx.session_);
    const bool offered = copy && SSL_set_session(ssl, copy);
    if (copy) SSL_SESSION_free(copy);  // ssl holds its own reference
    if (!offered) {
      SSL_free(ssl);
      return;
    }
  }
  ssl_ = ssl;
}

TlsSession::~TlsSession() {
  if (ssl_) SSL_free(ssl_);
}

TlsSession::Status TlsSession::handshake() {
  const int rc = SSL_do_handshake(ssl_);
  if (rc == 1) {
    established_ = true;
    return Status::Ok;
  }
  const int e = SSL_get_error(ssl_, rc);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::WantInput;
  last_error_ = e;
  return e == SSL_ERROR_ZERO_RETURN ? Status::Closed : Status::Error;
}

bool TlsSession::reused() const { return SSL_session_reused(ssl_) == 1; }
const char* TlsSession::protocol() const { return SSL_get_version(ssl_); }
std::string TlsSession::alpn() const {
  const unsigned char* p = nullptr;
  unsigned int n = 0;
  SSL_get0_alpn_selected(ssl_, &p, &n);
  return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
}

void TlsContext::offer_h2() {
  static const unsigned char kH2[] = {2, 'h', '2'};
  if (SSL_CTX_set_alpn_protos(ctx_, kH2, sizeof kH2) != 0) throw std::runtime_error("TLS: ALPN h2 refused: " + drain_errors());
}
const char* TlsSession::cipher() const { return SSL_get_cipher_name(ssl_); }
const char* TlsSession::group() const {
  const char* g = SSL_get0_group_name(ssl_);
  return g ? g : "";
}

TlsSession::Status TlsSession::read(uint8_t* buf, size_t cap, size_t& n) {
  n = 0;
  if (SSL_read_ex(ssl_, buf, cap, &n) == 1) return Status::Ok;
  const int e = SSL_get_error(ssl_, 0);
  if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return Status::WantInput;
  last_error_ = e;
  return e == SSL_ERROR_ZERO_RETURN ? Status::Closed : Status::Error;
}

bool TlsSession::write(const uint8_t* data, size_t len) {
  size_t written = 0;
  if (SSL_write_ex(ssl_, data, len, &written) == 1 && written == len) return true;
  last_error_ = SSL_get_error(ssl_, 0);
  return false;
}

void TlsSession::out_consume(size_t n) {
  out_head_ += n;
  if (out_head_ == out_.size()) {
    out_.clear();
    out_head_ = 0;
  }
}

std::string TlsSession::error() {
  std::string text = drain_errors();
  if (!text.empty()) return text;
  switch (last_error_) {
    case SSL_ERROR_ZERO_RETURN: return "the server sent close_notify";
    case SSL_ERROR_SYSCALL: return "unexpected end of the TLS stream";
    default: return "SSL_get_error " + std::to_string(last_error_);
  }
}

int TlsSession::bio_read(BIO* bio, char* out, int len) {
  auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (self->in_len_ == 0) {
    BIO_set_retry_read(bio);
    return -1;
  }
  const size_t n = std::min(self->in_len_, static_cast<size_t>(len));
  std::memcpy(out, self->in_, n);
  self->in_ += n;
  self->in_len_ -= n;
  return static_cast<int>(n);
}

int TlsSession::bio_write(BIO* bio, const char* data, int len) {
  auto* self = static_cast<TlsSession*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  std::vector<uint8_t>& out = self->out_;
  if (self->out_head_ >= 65536 && self->out_head_ * 2 >= out.size()) {  // drop what was written
    out.erase(out.begin(), out.begin() + static_cast<ptrdiff_t>(self->out_head_));
    self->out_head_ = 0;
  }
  out.insert(out.end(), reinterpret_cast<const uint8_t*>(data), reinterpret_cast<const uint8_t*>(data) + len);
  return len;
}

long TlsSession::bio_ctrl(BIO*, int cmd, long, void*) {
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;  // nothing is buffered in the BIO itself
}

}  // namespace sockudo::loadgen
