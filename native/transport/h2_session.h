// An HTTP/2 connection (RFC 9113) on a server, carrying WebSockets over extended CONNECT streams
// (RFC 8441): nghttp2 as the sans-IO protocol session between the connection's link (TCP or TLS
// with ALPN "h2", or cleartext prior knowledge) and one endpoint per stream (h2_stream_link.h).
//
// - SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 §3); each request block is validated by
//   core/handshake/extended_connect (shared with HTTP/3); a valid one becomes an Endpoint awaiting
//   the application's decision through the same ServerHandler as HTTP/1.1 upgrades; an invalid
//   one is answered here (400/431/501) without bothering the application.
// - Output: frames are serialized by nghttp2_session_send into one queue (control frames copied,
//   DATA payloads borrowed from the endpoints' queues) and written to the link once per loop turn.
//   The queue is capped (kMaxOutput): past it nghttp2 stops producing until the link drains.
// - Input: everything the link delivers goes through nghttp2_session_mem_recv2; DATA goes to its
//   stream's endpoint in place. Flood protections are nghttp2's (SETTINGS/PING ack limits,
//   rapid-reset rate limit); SETTINGS_MAX_CONCURRENT_STREAMS bounds streams.
// - Idle: a connection without streams for Http2::idle_timeout_ms is sent GOAWAY and closed.
//   close_gracefully() (the server closing) sends GOAWAY at once and ends the connection when its
//   last stream ends.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <unordered_set>
#include <vector>

#include "core/io/output_queue.h"
#include "transport/client_session.h"
#include "transport/endpoint.h"
#include "transport/h2_stream_link.h"
#include "transport/link.h"
#include "transport/loop_member.h"

struct nghttp2_session;

namespace sockudo::transport {

class H2Session final : public ClientSession, public LinkEvents, public LoopMember {
 public:
  // The most serialized output kept before nghttp2 is asked to wait for the link.
  static constexpr size_t kMaxOutput = 256 * 1024;
  // Requests started per read (a link reads once per loop turn): each asks the application (one
  // JS call), so a peer that opens and resets streams by the thousand (rapid reset) gets this many
  // per turn; the rest of its input waits for the next turn, and nghttp2's reset rate limit ends
  // the connection meanwhile.
  static constexpr uint32_t kMaxNewStreamsPerTurn = 100;

  // Whether `data` could be the start of the HTTP/2 client preface (RFC 9113 §3.4).
  static bool is_preface_start(const uint8_t* data, size_t len);
  // Takes over a server connection's link whose first bytes (`data`) are HTTP/2. Null when
  // nghttp2 cannot allocate (the link is closed).
  static H2Session* create_server(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                  ServerHandler* server, const SocketAddress& remote, uint8_t* data, size_t len);

  // A client connection to ip:port (TLS when `tls` is given, which must offer ALPN "h2"; else
  // cleartext prior knowledge). Null with *error = errno (EPROTO and *failure for TLS state).
  static H2Session* create_client(Loop& loop, const std::string& ip, uint16_t port, std::shared_ptr<const SocketConfig> config,
                                  const TlsClientParams* tls, SessionClientHandler* handler, int* error, LinkFailure* failure);
  // Client: opens a WebSocket on a new stream (`fields` from ClientHandshake::build_connect). The
  // endpoint reports to `handler` like a client connection; null when no stream can be opened.
  Endpoint* open_websocket(const std::vector<handshake::OwnedField>& fields, std::unique_ptr<handshake::ClientHandshake> hs,
                           SocketHandler* handler) override;
  // Client: the application is done with the session (the handler is not called any more).
  void detach_client() override;
  bool ready() const override { return ready_; }

  // GOAWAY now (no new streams); the connection ends when its last stream does.
  void close_gracefully() override;
  void destroy() override;
  void flush_from_loop() override;
  size_t stream_count() const { return streams_.size(); }

  // For stream links.
  nghttp2_session* ng() const { return ng_; }
  Link* link() const { return link_.get(); }
  void mark_dirty();
  void release_stream(H2Stream* stream);  // the stream's endpoint link closed

  // nghttp2 callbacks (h2_session.cc registers them).
  int on_begin_headers(int32_t stream_id, int category);
  int on_header(int32_t stream_id, int category, std::string_view name, std::string_view value);
  int on_frame_recv(int type, int32_t stream_id, uint8_t flags, int category);
  int on_data_chunk(int32_t stream_id, const uint8_t* data, size_t len);
  int on_stream_close(int32_t stream_id, uint32_t error_code);
  int on_frame_send(int type, int32_t stream_id, uint8_t flags);
  long on_send(const uint8_t* data, size_t len);
  int on_send_data(H2Stream* stream, const uint8_t* framehd, size_t length, size_t padlen);

 private:
  H2Session(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config, ServerHandler* server,
            const SocketAddress& remote);
  ~H2Session() override;
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // LinkEvents
  void on_link_connected() override;
  void on_link_data(uint8_t* data, size_t len) override;
  void on_link_writable() override;
  void on_link_eof(int error) override;
  void on_link_failed(const LinkFailure& failure) override;
  void on_link_pending() override;
  void resume_from_loop() override;

  bool start();
  bool client_role() const { return server_ == nullptr; }
  void fail_client(std::string code, std::string message);  // h2_client_session.cc
  void receive(uint8_t* data, size_t len);
  void on_request(H2Stream* stream);
  void refuse(H2Stream* stream, const handshake::UpgradeVerdict& verdict);
  void deliver_eof(H2Stream* stream, int error);
  void notify_writable(H2Stream* only);
  void write_out();
  void settle_acks();
  void sweep();
  void update_wants();
  void arm_timer();
  void maybe_finish();
  static void on_timer(uv_timer_t* handle);
  static void on_closed(void* arg);
  static void on_timer_closed(uv_handle_t* handle);

  Loop& loop_;
  std::unique_ptr<Link> link_;
  std::shared_ptr<const SocketConfig> config_;
  ServerHandler* server_;
  SocketAddress remote_;
  nghttp2_session* ng_ = nullptr;
  io::OutputQueue out_;
  struct Ack {
    uint64_t end;  // out_.appended_total() after the frame
    H2Stream* stream;
    size_t bytes;
  };
  std::deque<Ack> acks_;
  std::unordered_set<H2Stream*> streams_;
  std::vector<H2Stream*> maybe_done_;  // streams whose state moved towards finished() since the last sweep
  uv_timer_t timer_;
  uint64_t idle_since_ = 0;
  int handles_open_ = 0;
  bool closed_ = false;
  bool going_away_ = false;
  bool waiting_writable_ = false;
  bool receiving_ = false;
  SessionClientHandler* client_ = nullptr;  // a client session's application side
  bool ready_ = false;                 // client: the server's SETTINGS arrived
  bool received_any_ = false;          // client: the server sent something
  bool requested_ = false;             // server: a request stream has begun
  uint32_t new_streams_ = 0;    // requests begun in this read (or resume pass)
  bool pause_requested_ = false;
  std::vector<uint8_t> backlog_;  // input after a pause, fed from the next resume pass
};

}  // namespace sockudo::transport
