// --http3: one QUIC connection (RFC 9000, TLS 1.3 with ALPN "h3", certificates not verified)
// carrying many WebSockets as extended CONNECT streams (RFC 9220), on ngtcp2 + nghttp3 (with
// OpenSSL's QUIC API through ngtcp2_crypto_ossl). Each stream is a Conn in stream mode, as with
// --http2: this mux moves its bytes (copied out of the Conn's queue into chunks nghttp3 refers
// to until the server acknowledges them) and reports the stream's response and end. Receive
// credit is extended as soon as bytes arrive (the load generator reads everything at once).
// Its own connected UDP socket and a timerfd for ngtcp2's expiry live on the Loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "endpoint.h"
#include "loop.h"
#include "stream_mux.h"

struct ngtcp2_conn;
struct nghttp3_conn;
struct ngtcp2_crypto_ossl_ctx;
struct ssl_st;
struct ssl_ctx_st;

namespace sockudo::loadgen {

class H3Mux final : public StreamMux, public IoHandler, public Flushable {
 public:
  H3Mux(Loop& loop, const Endpoint& endpoint);
  ~H3Mux() override;
  H3Mux(const H3Mux&) = delete;
  H3Mux& operator=(const H3Mux&) = delete;

  void open(Conn* conn) override;
  void resume(Conn* conn) override;
  void detach(Conn* conn) override;
  void on_io(uint32_t events) override;
  void flush() override;

  // Callbacks (h3_mux.cc registers them).
  struct Stream {
    Conn* conn = nullptr;
    int status = 0;
    std::deque<std::vector<uint8_t>> chunks;  // handed to nghttp3, kept until acknowledged
    size_t given = 0;                          // bytes of chunks nghttp3 has (all of them)
    size_t acked_in_front = 0;                 // acknowledged bytes of chunks.front()
  };
  ngtcp2_conn* quic() const { return quic_; }
  int on_stream_data(int64_t id, const uint8_t* data, size_t len, bool fin);
  int on_acked(int64_t id, uint64_t len);
  int on_stream_close(int64_t id, uint64_t code);
  int on_handshake_done();
  int on_settings();
  int on_h3_data(int64_t id, const uint8_t* data, size_t len);
  int on_h3_header(int64_t id, std::string_view name, std::string_view value);
  int on_h3_end_headers(int64_t id);
  int on_h3_acked(int64_t id, uint64_t len);
  int on_h3_stream_close(int64_t id, uint64_t code);
  int on_h3_end_stream(int64_t id);
  long on_read(int64_t id, void* vec, size_t veccnt, uint32_t* flags);

 private:
  struct Timer final : IoHandler {
    H3Mux* mux = nullptr;
    void on_io(uint32_t) override;
  };
  void connect();
  void submit(Conn* conn);
  void fail_all(const std::string& why);
  void want_flush();
  void write_packets();
  void arm_timer();
  bool send_batch(const uint8_t* data, size_t len, size_t segment);

  Loop& loop_;
  const Endpoint& endpoint_;
  int fd_ = -1;
  int timer_fd_ = -1;
  Timer timer_;
  bool ready_ = false;   // the server's SETTINGS arrived
  bool failed_ = false;
  bool flush_queued_ = false;
  ngtcp2_conn* quic_ = nullptr;
  nghttp3_conn* h3_ = nullptr;
  ngtcp2_crypto_ossl_ctx* ossl_ = nullptr;
  ssl_ctx_st* ssl_ctx_ = nullptr;
  ssl_st* ssl_ = nullptr;
  void* conn_ref_ = nullptr;  // ngtcp2_crypto_conn_ref (h3_mux.cc)
  sockaddr_storage local_{};
  socklen_t local_len_ = 0;
  std::vector<Conn*> waiting_;  // opened before the server's SETTINGS
  std::unordered_map<int64_t, Stream> streams_;
  std::vector<Conn*> read_;     // Conns that got data in this read (on_read_done)
  std::vector<uint8_t> packets_;
  std::vector<uint8_t> blocked_;  // a batch the socket refused (EAGAIN)
  size_t blocked_segment_ = 0;
};

}  // namespace sockudo::loadgen
