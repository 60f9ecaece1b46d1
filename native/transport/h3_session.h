// One QUIC connection (RFC 9000) of a server, carrying HTTP/3 (RFC 9114) and, on it, WebSockets
// over extended CONNECT streams (RFC 9220): ngtcp2 is the sans-IO QUIC connection (TLS 1.3 through
// OpenSSL 3.5's QUIC API, ngtcp2_crypto_ossl), nghttp3 the HTTP/3 and QPACK layer above it, and one
// endpoint per WebSocket stream (h3_stream_link.h). Datagrams arrive from, and leave through, the
// server's QUIC endpoint (quic_server.h), which routes them here by connection ID.
//
// - SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 9220 §3); each request block is validated by
//   core/handshake/extended_connect (shared with HTTP/2); a valid one becomes an Endpoint awaiting
//   the application's decision through the same ServerHandler as HTTP/1.1 upgrades; an invalid one
//   is answered here without bothering the application.
// - Timers: one uv timer at ngtcp2_conn_get_expiry (loss detection, ACK delay, idle timeout).
// - Output: packets are written once per loop turn (the session is a loop member marked dirty by
//   its streams), up to kMaxPacketsPerFlush, several per sendmsg with GSO. A send the kernel
//   refuses (EAGAIN) is kept and retried when the socket is writable.
// - Closing: a protocol error or close_gracefully()'s end sends CONNECTION_CLOSE; the session then
//   stays in the closing (or, after the peer's CONNECTION_CLOSE, draining) period for 3 PTO (RFC
//   9000 §10.2), answering packets with its CONNECTION_CLOSE at most once per PTO, then goes.
//   Every WebSocket still open ends with 1006.
#pragma once

#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <openssl/ssl.h>
#include <uv.h>

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "transport/client_session.h"
#include "transport/endpoint.h"
#include "transport/h3_stream_link.h"
#include "transport/loop_member.h"
#include "transport/tls_context.h"

struct ngtcp2_crypto_ossl_ctx;

namespace sockudo::transport {

class QuicEndpoint;

// nghttp3's read_data for a request stream: the WebSocket's bytes, or a refusal's body.
nghttp3_ssize read_h3_data(nghttp3_conn* conn, int64_t stream_id, nghttp3_vec* vec, size_t veccnt, uint32_t* flags,
                           void* conn_user_data, void* stream_user_data);

class H3Session final : public ClientSession, public LoopMember {
 public:
  static constexpr size_t kMaxPacketsPerFlush = 64;
  // Requests started per loop turn (each asks the application: one JS call); the rest of a burst
  // is refused with H3_REQUEST_REJECTED (RFC 9114 §8.1), which a client may retry.
  static constexpr uint32_t kMaxNewStreamsPerTurn = 100;
  static constexpr size_t kScidLen = 18;

  struct Accepted {
    ngtcp2_cid dcid;   // the client's chosen destination ID (our first, temporary ID)
    ngtcp2_cid scid;   // the client's source ID
    ngtcp2_cid ocid;   // with a retry token: the original destination ID
    bool retried = false;
    uint32_t version = 0;
    ngtcp2_token_type token_type = NGTCP2_TOKEN_TYPE_UNKNOWN;
    const uint8_t* token = nullptr;
    size_t tokenlen = 0;
  };

  // A new connection for a client's first Initial packet. Null when it cannot be set up.
  static H3Session* create(QuicEndpoint& quic, Loop& loop, std::shared_ptr<const SocketConfig> config,
                           ServerHandler* handler, const Accepted& accepted, const ngtcp2_path& path);

  // A client connection to ip:port over its own UDP socket (quic_client.h): TLS 1.3 with ALPN
  // "h3", the server verified like a TLS link's. Null with *error = -errno, or *failure set.
  static H3Session* create_client(Loop& loop, const std::string& ip, uint16_t port, std::shared_ptr<const SocketConfig> config,
                                  const TlsClientParams& tls, SessionClientHandler* handler, int* error, LinkFailure* failure);
  // The same on a given UDP side (`path`: its local and the server's address): the fuzzer's.
  static H3Session* create_client_on(QuicEndpoint& quic, Loop& loop, const ngtcp2_path& path,
                                     std::shared_ptr<const SocketConfig> config, const TlsClientParams& tls,
                                     SessionClientHandler* handler, LinkFailure* failure);
  // ClientSession
  Endpoint* open_websocket(const std::vector<handshake::OwnedField>& fields, std::unique_ptr<handshake::ClientHandshake> hs,
                           SocketHandler* handler) override;
  void detach_client() override;
  bool ready() const override { return ready_; }
  // The client socket reported an error (ECONNREFUSED: nobody listens on that UDP port).
  void on_socket_error(int error);

  // One datagram for this connection.
  void receive(const ngtcp2_path& path, const ngtcp2_pkt_info& info, const uint8_t* data, size_t len);
  // The UDP socket takes datagrams again.
  void on_writable();
  // GOAWAY now (no new streams); CONNECTION_CLOSE once the last stream has ended.
  void close_gracefully() override;
  void destroy() override;
  void flush_from_loop() override;
  size_t stream_count() const { return streams_.size(); }
  bool handshake_done() const { return handshake_done_; }
  const SocketAddress& remote() const { return remote_; }

  // For stream links.
  nghttp3_conn* h3() const { return h3_; }
  ngtcp2_conn* quic() const { return conn_; }
  void mark_dirty();
  void release_stream(H3Stream* stream);   // the stream's endpoint link closed
  void consumed(int64_t stream_id, size_t bytes);  // an endpoint took bytes: extend the peer's credit

  // Callbacks (h3_session.cc registers them).
  int on_stream_data(uint32_t flags, int64_t stream_id, const uint8_t* data, size_t len);
  int on_acked_stream_data(int64_t stream_id, uint64_t datalen);
  int on_stream_close(uint32_t flags, int64_t stream_id, uint64_t app_error_code);
  int on_stream_reset(int64_t stream_id, uint64_t app_error_code);
  int on_stream_stop_sending(int64_t stream_id, uint64_t app_error_code);
  int on_extend_max_stream_data(int64_t stream_id);
  int on_handshake_completed();
  int on_new_connection_id(ngtcp2_cid* cid, ngtcp2_stateless_reset_token* token, size_t cidlen);
  int on_remove_connection_id(const ngtcp2_cid* cid);
  int on_begin_headers(int64_t stream_id);
  int on_header(int64_t stream_id, std::string_view name, std::string_view value);
  int on_end_headers(int64_t stream_id, bool fin);
  int on_h3_data(int64_t stream_id, const uint8_t* data, size_t len);
  int on_h3_acked(int64_t stream_id, uint64_t datalen);
  int on_h3_stream_close(int64_t stream_id, uint64_t app_error_code);
  int on_h3_end_stream(int64_t stream_id);
  int on_h3_stop_sending(int64_t stream_id, uint64_t app_error_code);
  int on_h3_reset_stream(int64_t stream_id, uint64_t app_error_code);
  int on_h3_deferred_consume(int64_t stream_id, size_t consumed);
  int on_h3_settings(bool connect_protocol);
  nghttp3_ssize read_stream_data(H3Stream* stream, nghttp3_vec* vec, size_t veccnt, uint32_t* flags);
  ngtcp2_conn* conn_for_tls() const { return conn_; }

 private:
  H3Session(QuicEndpoint& quic, Loop& loop, std::shared_ptr<const SocketConfig> config, ServerHandler* handler,
            const ngtcp2_path& path);
  ~H3Session() override;
  H3Session(const H3Session&) = delete;
  H3Session& operator=(const H3Session&) = delete;

  bool start(const Accepted& accepted, const ngtcp2_path& path);
  bool start_client(const TlsClientParams& tls, const ngtcp2_path& path, LinkFailure* failure);  // h3_client_session.cc
  bool verify_server();                                                                          // h3_client_session.cc
  void fail_client(std::string code, std::string message);                                       // h3_client_session.cc
  bool client_role() const { return client_role_; }
  bool start_h3();
  void on_request(H3Stream* stream);
  void refuse(H3Stream* stream, const handshake::UpgradeVerdict& verdict);
  void deliver_eof(H3Stream* stream, int error);
  void write_packets();
  bool send_pending();
  void fail(const ngtcp2_ccerr& error);
  void enter_closing(bool draining);
  void abort_streams();
  void arm_timer();
  void sweep();
  void maybe_finish();
  void finish_stream(H3Stream* stream);
  H3Stream* stream_of(int64_t id) const;
  static void on_timer(uv_timer_t* handle);
  static void on_timer_closed(uv_handle_t* handle);

  QuicEndpoint& quic_;
  Loop& loop_;
  std::shared_ptr<const SocketConfig> config_;
  ServerHandler* handler_;
  SocketAddress remote_;         // where the connection started (the request's remoteAddress)
  sockaddr_storage remote_addr_{};  // where its packets go now (the active path, after migration)
  socklen_t remote_len_ = 0;
  ngtcp2_conn* conn_ = nullptr;
  nghttp3_conn* h3_ = nullptr;
  ngtcp2_crypto_ossl_ctx* ossl_ = nullptr;
  SSL* ssl_ = nullptr;
  QuicTlsAppData app_data_{};  // the SSL's app data: ngtcp2's conn_ref, then the SNI contexts
  std::shared_ptr<TlsServerContexts> tls_;
  ngtcp2_ccerr last_error_{};  // why a callback failed (a connection error for CONNECTION_CLOSE)
  std::vector<ngtcp2_cid> cids_;  // the IDs the server routes to us
  std::unordered_map<int64_t, H3Stream*> streams_;
  std::vector<H3Stream*> maybe_done_;
  uv_timer_t timer_;
  bool timer_open_ = false;
  bool closed_ = false;        // destroyed: waiting for the timer handle to close
  bool closing_ = false;       // in the closing or draining period (no more streams, no output but close)
  bool draining_ = false;
  bool going_away_ = false;
  bool handshake_done_ = false;
  bool receiving_ = false;
  bool client_role_ = false;
  int socket_error_ = 0;                   // client: the socket refused a send (ECONNREFUSED)
  bool ready_ = false;                     // client: the server's SETTINGS arrived
  SessionClientHandler* client_ = nullptr;  // a client session's application side
  std::shared_ptr<TlsContext> client_tls_;  // a client's context (verification policy)
  uint64_t closing_until_ = 0;  // ns
  uint64_t last_close_sent_ = 0;
  uint32_t new_streams_ = 0;
  uint64_t new_streams_turn_ = 0;
  std::vector<uint8_t> close_packet_;  // our CONNECTION_CLOSE, re-sent in the closing period
  std::vector<uint8_t> blocked_;        // packets the socket refused (EAGAIN), with their segment size
  size_t blocked_segment_ = 0;          // ... and destination
  sockaddr_storage blocked_addr_{};
  socklen_t blocked_len_ = 0;
};

}  // namespace sockudo::transport
