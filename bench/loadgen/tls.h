// TLS for --tls: one SSL_CTX per run (TlsContext) and one client session per connection
// (TlsSession), OpenSSL from the project's static deps. Nothing here touches a socket: the session
// reads ciphertext the connection hands it (feed) through a custom BIO, and the ciphertext it
// produces collects in a buffer the connection writes out (out_data / out_consume). Certificates
// are not verified (benchmarks use self-signed certificates on loopback); SNI is "localhost",
// ALPN "http/1.1", TLS 1.2 or 1.3.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "histogram.h"

struct ssl_st;
struct ssl_ctx_st;
struct ssl_session_st;
struct bio_method_st;
struct bio_st;

namespace sockudo::loadgen {

class TlsContext {
 public:
  // `groups`: the key exchange groups offered, OpenSSL list syntax (SSL_CTX_set1_groups_list).
  // `resume`: keep the first resumable session the server gives and offer it on every later
  // connection. `release_buffers`: let OpenSSL free a connection's record buffers while it is idle
  // (many idle connections: the generator's own memory stays small). Throws std::runtime_error.
  TlsContext(const std::string& groups, bool resume, bool release_buffers);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  bool resume() const { return resume_; }
  // Offers "h2" alone by ALPN (--http2 --tls) instead of "http/1.1".
  void offer_h2();
  bool has_session() const { return session_ != nullptr; }

  // Scratch shared by every connection (one thread, and no connection keeps them across calls):
  // decrypted input on its way to the frame parser, and small output slices gathered into one record.
  uint8_t* plain_buffer() { return plain_.data(); }
  size_t plain_capacity() const { return plain_.size(); }
  uint8_t* stage_buffer() { return stage_.data(); }
  static constexpr size_t kRecord = 16384;  // the largest TLS record's plaintext

  // Counted by the connections (Conn::tls_established).
  uint64_t handshakes = 0;  // TLS handshakes completed
  uint64_t resumed = 0;     // of those, SSL_session_reused
  Histogram handshake_ns;   // connect() .. TLS handshake complete
  std::string protocol, cipher, group;  // of the first completed handshake

 private:
  friend class TlsSession;
  static int on_new_session(ssl_st* ssl, ssl_session_st* session);

  bool resume_;
  ssl_ctx_st* ctx_ = nullptr;
  bio_method_st* method_ = nullptr;
  ssl_session_st* session_ = nullptr;  // the session offered to new connections (--tls-resume)
  std::vector<uint8_t> plain_;
  std::vector<uint8_t> stage_;
};

// Whether OpenSSL accepts `groups` as a groups list; `error` says why not.
bool tls_groups_valid(const std::string& groups, std::string& error);

class TlsSession {
 public:
  enum class Status : uint8_t { Ok, WantInput, Closed, Error };

  explicit TlsSession(TlsContext& ctx);  // check ok() afterwards
  ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;
  bool ok() const { return ssl_ != nullptr; }

  // Ciphertext from the socket; the next handshake()/read() calls consume it. WantInput means all
  // of it was consumed (OpenSSL keeps any partial record itself).
  void feed(const uint8_t* data, size_t len) {
    in_ = data;
    in_len_ = len;
  }
  // Advances the client handshake: Ok once complete, WantInput while waiting for the server.
  Status handshake();
  bool established() const { return established_; }
  bool reused() const;
  const char* protocol() const;
  const char* cipher() const;
  const char* group() const;  // the key exchange group, "" if unknown
  std::string alpn() const;   // the protocol the server selected by ALPN, "" if none
  // Decrypts into buf: Ok with n > 0, WantInput (input used up), Closed (close_notify), Error.
  Status read(uint8_t* buf, size_t cap, size_t& n);
  // Encrypts all of data (never partially: the output buffer takes everything). false: error.
  bool write(const uint8_t* data, size_t len);

  // Ciphertext waiting for the socket.
  const uint8_t* out_data() const { return out_.data() + out_head_; }
  size_t out_len() const { return out_.size() - out_head_; }
  void out_consume(size_t n);

  // Empties OpenSSL's error queue into one line (also after Closed/Error, to keep the queue clean
  // for the next connection).
  std::string error();

 private:
  static int bio_read(bio_st* bio, char* out, int len);
  static int bio_write(bio_st* bio, const char* data, int len);
  static long bio_ctrl(bio_st* bio, int cmd, long num, void* ptr);

  ssl_st* ssl_ = nullptr;
  const uint8_t* in_ = nullptr;
  size_t in_len_ = 0;
  std::vector<uint8_t> out_;
  size_t out_head_ = 0;
  bool established_ = false;
  int last_error_ = 0;  // SSL_get_error of the last failure, for error() when the queue is empty

  friend class TlsContext;
};

}  // namespace sockudo::loadgen
