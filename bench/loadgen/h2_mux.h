// --http2: one HTTP/2 connection (cleartext by prior knowledge, RFC 9113 §3.3, or with --tls over
// TLS with ALPN "h2") carrying many WebSockets as extended CONNECT streams (RFC 8441), on
// nghttp2's client session. Each stream is a
// Conn in HTTP/2 mode: it frames and parses WebSocket frames as always; this mux moves its bytes
// (DATA both ways, copied into nghttp2's frames) and reports the stream's response and end.
// nghttp2 sends WINDOW_UPDATEs as data is consumed (the load generator reads everything at once).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <memory>

#include "endpoint.h"
#include "loop.h"
#include "stream_mux.h"
#include "tls.h"

struct nghttp2_session;

namespace sockudo::loadgen {

class Conn;

class H2Mux final : public StreamMux, public IoHandler, public Flushable {
 public:
  // `tls`: the run's context (offering h2), or null for cleartext.
  H2Mux(Loop& loop, const Endpoint& endpoint, TlsContext* tls);
  ~H2Mux() override;
  H2Mux(const H2Mux&) = delete;
  H2Mux& operator=(const H2Mux&) = delete;

  void open(Conn* conn) override;
  void resume(Conn* conn) override;
  void detach(Conn* conn) override;

  void on_io(uint32_t events) override;
  void flush() override;

  // nghttp2 callbacks.
  int on_header(int32_t stream, std::string_view name, std::string_view value);
  int on_frame_recv(int type, int32_t stream, uint8_t flags);
  int on_data(int32_t stream, const uint8_t* data, size_t len);
  int on_stream_close(int32_t stream, uint32_t error_code);
  long on_send(const uint8_t* data, size_t len);
  long on_read(int32_t stream, uint8_t* buf, size_t len, uint32_t* flags);

 private:
  void connect();
  void submit(Conn* conn);
  void fail_all(const std::string& why);
  void want_flush();
  void up();                   // TCP connected (and TLS established): HTTP/2 may start
  bool write_cipher();         // TLS: writes waiting ciphertext; false when blocked or failed
  void input(const uint8_t* data, size_t len);  // plaintext HTTP/2 bytes from the server

  Loop& loop_;
  const Endpoint& endpoint_;
  int fd_ = -1;
  bool connected_ = false;
  bool failed_ = false;
  bool flush_queued_ = false;
  nghttp2_session* ng_ = nullptr;
  std::vector<Conn*> waiting_;                  // opened before the connection was up
  std::unordered_map<int32_t, Conn*> streams_;
  std::unordered_map<int32_t, int> status_;     // :status of each stream's response
  std::vector<Conn*> read_;                     // Conns that got data in this read (on_read_done)
  std::vector<uint8_t> unsent_;                 // what the socket refused (cleartext)
  TlsContext* tls_ctx_;
  std::unique_ptr<TlsSession> tls_;
};

}  // namespace sockudo::loadgen
