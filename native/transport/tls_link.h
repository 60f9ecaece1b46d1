// TLS over another link (a TCP FdLink today): OpenSSL runs on our own buffers through a custom
// BIO, so ciphertext is read straight from the loop's receive buffer and written with the inner
// link's sendmsg; decrypted records go to the session one at a time from a loop-wide buffer.
//
// - Server: SNI picks the context (TlsServerContexts), ALPN is answered from the context's list
//   (http/1.1 now; h2 dispatches on it later), renegotiation is refused (SSL_OP_NO_RENEGOTIATION),
//   idle connections release their record buffers (SSL_MODE_RELEASE_BUFFERS), and our close sends
//   close_notify before the TCP FIN (shutdown_write).
// - Client: the peer's chain is verified against the context's roots and the host name (or IP)
//   checked; a failure ends the connection with Node's code (CERT_HAS_EXPIRED,
//   ERR_TLS_CERT_ALTNAME_INVALID, ...) unless the context has rejectUnauthorized off.
// - Bounds: a handshake is limited by the session's handshake timeout; OpenSSL bounds each
//   handshake message; ciphertext kept while the session does not want input is at most one read
//   of the inner link (its reading stops meanwhile).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "transport/link.h"
#include "transport/tls_context.h"

namespace sockudo::transport {

class Loop;

class TlsLink final : public Link, private LinkEvents {
 public:
  // Ciphertext encrypted per write() call before the inner link is offered it.
  static constexpr size_t kMaxEncryptPerWrite = 256 * 1024;

  static std::unique_ptr<TlsLink> server(Loop& loop, std::unique_ptr<Link> inner,
                                         std::shared_ptr<TlsServerContexts> contexts, LinkFailure* error);
  static std::unique_ptr<TlsLink> client(Loop& loop, std::unique_ptr<Link> inner, const TlsClientParams& params,
                                         LinkFailure* error);
  ~TlsLink() override;
  TlsLink(const TlsLink&) = delete;
  TlsLink& operator=(const TlsLink&) = delete;

  void set_events(LinkEvents* events) override { events_ = events; }
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override;
  void pump() override;
  bool shutdown_write() override;
  void close(void (*done)(void*), void* arg) override;
  const char* transport_name() const override { return inner_->transport_name(); }
  size_t buffered() const override { return out_.size() - out_pos_ + inner_->buffered(); }
  bool ready() const override { return handshake_done_; }
  std::string_view alpn() const override { return alpn_; }
  bool encrypted() const override { return true; }
  SSL* ssl() const { return ssl_; }

  // For the BIO callbacks.
  size_t take_input(uint8_t* buf, size_t cap);
  void append_output(const uint8_t* data, size_t len) { sink_->insert(sink_->end(), data, data + len); }

 private:
  TlsLink(Loop& loop, std::unique_ptr<Link> inner, std::shared_ptr<TlsContext> context, bool server);
  bool init(LinkFailure* error);

  void on_link_connected() override;
  void on_link_data(uint8_t* data, size_t len) override;
  void on_link_writable() override;
  void on_link_eof(int error) override;
  void on_link_failed(const LinkFailure& failure) override;
  void on_link_pending() override {}

  void drive();
  bool handshake();
  void read_records();
  // Writes pending ciphertext to the inner link: true once none is left; *error on failure.
  bool flush_out(int* error);
  void keep_rest();
  // Nothing waits for the inner link: a pending FIN goes, and a blocked session hears it can write.
  void after_flush();
  void fail(const LinkFailure& failure);
  void update_inner();

  Loop& loop_;
  std::unique_ptr<Link> inner_;
  std::shared_ptr<TlsContext> context_;        // the SSL_CTX it started with and the BIO method
  std::shared_ptr<TlsServerContexts> contexts_;  // server: the SNI table the callback consults
  SSL* ssl_ = nullptr;
  LinkEvents* events_ = nullptr;
  bool server_;
  bool handshake_done_ = false;
  bool closed_ = false;
  bool failed_ = false;
  bool want_read_ = true;
  bool upper_blocked_ = false;    // a write() reported blocked: report on_link_writable later
  bool shutdown_pending_ = false; // close_notify queued: FIN once it has left
  bool in_drive_ = false;
  const uint8_t* span_ = nullptr; // the inner link's bytes being processed now
  size_t span_len_ = 0;
  std::vector<uint8_t> in_;       // ciphertext kept for later (≤ one inner read)
  size_t in_pos_ = 0;
  std::vector<uint8_t> out_;      // ciphertext the inner link has not taken yet
  size_t out_pos_ = 0;
  std::vector<uint8_t>* sink_ = &out_;  // where OpenSSL's records go (the loop's scratch inside write())
  std::string alpn_;
};

// A client's link: a non-blocking TCP connect to ip:port, with TLS over it when `tls` is given.
// Null with *error = errno when the connect cannot start (EPROTO and *failure when the TLS state
// cannot be created); progress and failures later are reported to the link's events. The socket
// runs on the loop's io_uring when `io_uring` is set and the loop has a ring (uring_link.h).
std::unique_ptr<Link> connect_client_link(Loop& loop, const std::string& ip, uint16_t port, const TlsClientParams* tls,
                                          int* error, LinkFailure* failure, bool io_uring);

}  // namespace sockudo::transport
