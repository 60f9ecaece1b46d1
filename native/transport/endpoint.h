// One HTTP/1.1 connection carrying one WebSocket, from its first byte to its close: the server's
// reading of the upgrade request, the application's accept/reject decision, the client's connect
// and handshake, then the WebSocket protocol engine. Its bytes move through a Link (link.h):
// plain TCP, TLS over TCP, or a JS Duplex; nothing here knows which beyond what Link reports.
// Owns the link and a uv_timer_t.
//
// I/O discipline:
// - Reads go into the loop's one receive buffer and are handed to the engine at once (zero-copy:
//   the engine unmasks in place and delivers whole messages as spans into it).
// - Writes are corked: sends append to the engine's output queue and mark the socket dirty; the
//   loop flushes dirty sockets once per turn (before it polls, and after I/O callbacks), so
//   everything sent during a callback leaves in one writev. A queue past the link's flush threshold (4 KiB; 64 KiB for a Duplex) is
//   flushed at once, so a synchronous burst of sends sees backpressure instead of only growing,
//   and a large message leaves while its bytes are still hot: the buffer it borrowed is freed
//   right after the write and reused by the next message. (Holding every large message of a turn
//   until the turn's end made the allocator return and refault that memory each turn: page faults
//   were a sixth of the server's time echoing 16 KiB messages.)
// - What the kernel does not take stays queued (the backpressure buffer); the socket then waits
//   for writability and reports on_drain() when the queue empties.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/handshake/client_upgrade.h"
#include "core/handshake/extended_connect.h"
#include "core/handshake/http_head_parser.h"
#include "core/handshake/server_upgrade.h"
#include "core/io/slot_list.h"
#include "core/protocol/connection.h"
#include "core/protocol/deflate_params.h"
#include "core/protocol/permessage_deflate.h"
#include "core/pubsub/topic_tree.h"
#include "transport/link.h"
#include "transport/loop_member.h"
#include "transport/socket_handler.h"
#include "transport/tcp.h"
#include "transport/tls_context.h"

namespace sockudo::transport {

class Loop;

// Settings shared by every socket of one server (or one client connection).
struct SocketConfig {
  protocol::ConnectionConfig connection;
  handshake::HeadLimits head_limits;
  uint64_t handshake_timeout_ms = 10000;
  size_t max_backpressure = 1024 * 1024;
  bool close_on_backpressure_limit = false;
  // permessage-deflate (RFC 7692): what a server negotiates (deflate_server.enabled), what a
  // client offers (offer_deflate), and how either compresses once agreed.
  protocol::DeflateServerConfig deflate_server;
  bool offer_deflate = false;
  protocol::DeflateOffer deflate_offer;
  protocol::DeflateSettings deflate;
  // A listening server's TLS (wss://): accepted connections start a TLS handshake, which must
  // finish within tls_handshake_timeout_ms (0: only handshake_timeout_ms bounds it).
  std::shared_ptr<TlsServer> tls_server;
  uint64_t tls_handshake_timeout_ms = 0;
  // Requests that are not upgrades, on plain TCP connections, are handed to the server's
  // on_http_request (the application's own HTTP server) instead of being answered 426.
  bool http_handoff = false;
  // How the application takes text messages: as bytes instead of strings (read by the binding's
  // SocketHandler, not by the engine).
  bool text_as_buffer = false;
  // Accepted (and adopted) TCP connections run on the loop's io_uring (uring_link.h) instead of
  // readiness polling; set only when the loop has a ring (the server fell back otherwise).
  bool io_uring = false;
  // WebSocket over HTTP/2 (RFC 8441): offered through ALPN "h2" on TLS, and with `cleartext` to
  // clients that start with the HTTP/2 preface (prior knowledge, RFC 9113 §3.3).
  struct Http2 {
    bool enabled = false;
    bool cleartext = false;
    uint32_t max_streams = 100;                      // SETTINGS_MAX_CONCURRENT_STREAMS
    uint32_t window_size = 1024 * 1024;              // SETTINGS_INITIAL_WINDOW_SIZE (per stream, receive)
    uint32_t connection_window_size = 8 * 1024 * 1024;  // the connection's receive window
    uint64_t idle_timeout_ms = 120000;               // a connection without streams is closed after this
  } http2;
  // WebSocket over HTTP/3 (RFC 9220): a QUIC endpoint (quic_server.h) on the listener's port
  // number over UDP, with TLS 1.3 contexts built for QUIC (ALPN "h3") from the server's `tls`.
  struct Http3 {
    bool enabled = false;
    std::shared_ptr<TlsServer> tls;
    uint32_t max_streams = 100;                      // initial_max_streams_bidi
    uint32_t window_size = 1024 * 1024;              // initial_max_stream_data_bidi_remote (per stream, receive)
    uint32_t connection_window_size = 8 * 1024 * 1024;  // initial_max_data
    uint64_t idle_timeout_ms = 30000;                // max_idle_timeout (RFC 9000 §10.1)
    size_t retry_above = 64;                         // handshakes in progress past which clients must answer a Retry (0: always)
    std::string alt_svc;                             // `h3=":port"` once listening: added to TCP answers
  } http3;
};

class ExternalLink;

enum class EndpointPhase : uint8_t {
  ServerHead,        // reading the upgrade request
  AwaitingDecision,  // request complete; the application decides (accept / reject)
  ClientConnecting,  // TCP connect (and TLS handshake) in progress
  ClientHead,        // request sent; reading the response
  ClientRejected,    // a non-101 response: reading its body before reporting the failure
  Open,              // WebSocket connection
  Draining,          // writing what is queued (a rejection, a final close), then lingering until EOF
  Closed,
};

enum class SendResult : uint8_t { Success = 0, Backpressure = 1, Dropped = 2, NotOpen = 3, Invalid = 4 };

class Endpoint final : public LinkEvents, public LoopMember {
 public:
  // Inflated bytes one connection may produce per loop turn (ConnectionConfig::inflate_budget);
  // a bigger message continues on the next turns, its socket not read meanwhile. Most of the
  // cost is faulting in the memory the output lands in (inflate itself is a few percent): about
  // 0.1 ms per 64 KiB here. 256 KiB gave the well-behaved client under bombs a 1.0 ms median
  // round trip, 64 KiB 0.75 ms (`node bench/js/bomb.mjs --rounds 1 --seconds 3` and `--rounds 2`;
  // quiet: 0.6 ms).
  static constexpr uint64_t kInflateBudgetPerTurn = 64 * 1024;
  // Bytes a socket keeps that arrived before they can be processed (after the head while the
  // application decides, before start(), or from a Duplex fed during another receive). A fd
  // socket stops reading instead; a Duplex is paused (on_external_flow) past this.
  static constexpr size_t kMaxHeldInput = 256 * 1024;
  // The most of a refused upgrade's response body a client keeps for the application.
  static constexpr size_t kMaxRejectionBody = 64 * 1024;

  // A server-side socket for an accepted (or adopted) fd; fd < 0 means external I/O (bytes are
  // fed with receive_external and written through the handler). `initial` holds bytes that were
  // read before the socket existed (a Node http server's buffered head). `tls`: wrap the fd in
  // the server's TLS (config.tls_server) — a listener's accepted sockets, not adopted ones.
  // Null only when TLS state cannot be allocated (the fd is closed).
  static Endpoint* create_server(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config, ServerHandler* server,
                               const uint8_t* initial, size_t initial_len, bool tls = false);
  // A client socket: starts connecting to ip:port (then the TLS handshake when `tls` is given)
  // and sends `request` once connected; failures after this point reach
  // handler->on_client_failed. Returns null with *error = errno when the connect cannot even
  // start (EPROTO with *failure set when the TLS state cannot be created).
  static Endpoint* create_client(Loop& loop, const std::string& ip, uint16_t port,
                               std::shared_ptr<const SocketConfig> config, std::string request,
                               std::unique_ptr<handshake::ClientHandshake> handshake, SocketHandler* handler,
                               const TlsClientParams* tls, int* error, LinkFailure* failure);

  // A client socket whose upgrade request someone else sent (the `ws` drop-in, over Node's http
  // client): `fd` is a connected socket this endpoint now owns (a dup of Node's), or < 0 for
  // external I/O (a Node TLS socket: bytes through receive_external and the handler). It starts
  // reading the response head: the caller feeds the head Node already parsed (receive_external)
  // before the loop turns, and `handshake` (expect_response) validates it as for our own request.
  static Endpoint* adopt_client(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config,
                                std::unique_ptr<handshake::ClientHandshake> handshake, SocketHandler* handler);

  // A server-side endpoint for one stream of a multiplexing session (an HTTP/2 extended CONNECT,
  // validated by the session): it starts awaiting the application's decision on `upgrade`, whose
  // views point into `request`. Reports on_socket_created and on_upgrade_request at once.
  static Endpoint* create_stream(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                 ServerHandler* server, std::unique_ptr<handshake::ConnectRequest> request,
                                 const handshake::UpgradeRequest& upgrade, const SocketAddress& remote,
                                 bool announce = true);
  // A client WebSocket on a stream of a client HTTP/2 session (its request already submitted):
  // awaits the response (on_link_response), then reports on_client_open / on_client_failed.
  static Endpoint* create_client_stream(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                       std::unique_ptr<handshake::ClientHandshake> handshake, SocketHandler* handler,
                                       const SocketAddress& remote);
  // Reports the stream's request to the server (create_stream with announce = false: the binding
  // first attaches its wrapper to an adopted http2 stream).
  void announce();

  // --- server handshake decision -------------------------------------------------------------
  // The request being decided (empty once the connection is open: it is freed then).
  const handshake::UpgradeRequest& upgrade_request() const;
  // The request's header fields (an HTTP/1.1 head or an HTTP/2 header block) until decided.
  const handshake::HeaderList* request_head() const {
    return head_ ? static_cast<const handshake::HeaderList*>(head_.get()) : connect_.get();
  }
  // 1: an HTTP/1.1 upgrade; 2: an HTTP/2 extended CONNECT stream.
  int http_version() const { return link_ ? link_->http_version() : 1; }
  // Sends the 101 response and opens the connection (not yet reading: call start()). Returns the
  // build error (local misuse: nothing is sent and the socket stays awaiting a decision).
  handshake::BuildError accept(SocketHandler* handler, const handshake::AcceptOptions& options);
  // Sends an error response and closes. Returns the build error (then a plain 500 is sent).
  handshake::BuildError reject(int status, std::string_view body, std::span<const handshake::HeaderField> headers);
  void set_handler(SocketHandler* handler);
  SocketHandler* handler() const { return handler_; }
  bool external() const { return link_ && link_->external(); }
  const char* transport_name() const { return link_ ? link_->transport_name() : "epoll"; }
  // Whether the connection is TLS (wss://) and the protocol ALPN agreed ("" when none).
  bool encrypted() const { return link_ && link_->encrypted(); }
  std::string_view alpn() const { return link_ ? link_->alpn() : std::string_view(); }

  // --- open connection -----------------------------------------------------------------------
  // Delivers bytes held since the handshake, then starts reading. Call once listeners exist.
  void start();
  // `compress`: encode with permessage-deflate when negotiated (and worth it, see DeflateSettings).
  // `owner_can_move`: the owner cannot pin the bytes in place (a JS ArrayBuffer may be transferred
  // and freed once JS runs again), so whatever is still queued when send() returns is copied.
  SendResult send(protocol::Opcode opcode, std::span<const uint8_t> payload, std::unique_ptr<io::BufferOwner> owner,
                  bool compress = true, bool owner_can_move = false);
  // Frames encoded once for many sockets (a publish); `owner` keeps them alive when borrowed.
  // The same backpressure policy as send().
  SendResult send_framed(std::span<const uint8_t> frames, std::unique_ptr<io::BufferOwner> owner);
  SendResult ping(std::span<const uint8_t> payload);
  SendResult pong(std::span<const uint8_t> payload);
  protocol::SendStatus close(uint16_t code, std::span<const uint8_t> reason);
  void terminate();
  void pause_reading();
  void resume_reading();
  void flush();  // writes what is queued now (cork(fn) ends with this)
  size_t buffered_amount() const;
  // The part of it that must be written before our direction ends (a Duplex flushes its own on end).
  size_t unsent() const;

  // --- pub/sub (server sockets; the loop's TopicTree) --------------------------------------
  // Each returns the topic's subscriber count after the call; *changed whether it changed.
  size_t subscribe(std::string_view topic, bool* changed);
  size_t unsubscribe(std::string_view topic, bool* changed);
  bool is_subscribed(std::string_view topic) const;
  std::vector<std::string_view> topics() const;
  // Leaves every topic, reporting each with the count that remains (the connection closed).
  void unsubscribe_all(const std::function<void(std::string_view, size_t)>& on_left);
  // The negotiated permessage-deflate session, if any (a publish picks the wire form from it).
  const protocol::PerMessageDeflate* deflate() const { return deflate_.get(); }
  const SocketConfig& config() const { return *config_; }
  const protocol::Connection* engine() const { return engine_.get(); }

  // --- external I/O (a JS Duplex) ------------------------------------------------------------
  void receive_external(const uint8_t* data, size_t len);
  void external_eof();
  // The Duplex emitted 'drain' after a write it asked us to wait on.
  void external_drained();

  EndpointPhase phase() const { return phase_; }
  bool is_open() const { return phase_ == EndpointPhase::Open; }
  const SocketAddress& remote() const { return remote_; }
  // The negotiated subprotocol and extensions once open ("" when none).
  const std::string& protocol() const { return protocol_; }
  const std::string& extensions() const { return extensions_; }
  ServerHandler* server() const { return server_; }
  // Ends the socket at once whatever its phase (server shutdown, environment teardown).
  void destroy() override;

  // Called by the loop.
  void flush_from_loop() override;
  void resume_from_loop() override;  // continue input the engine suspended, or held during a receive

 private:
  Endpoint(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config);
  ~Endpoint() override;
  Endpoint(const Endpoint&) = delete;
  Endpoint& operator=(const Endpoint&) = delete;

  static void on_timer(uv_timer_t* handle);
  static void on_handle_closed(uv_handle_t* handle);
  static void on_link_closed(void* arg);

  // LinkEvents
  void on_link_connected() override;
  void on_link_data(uint8_t* data, size_t len) override;
  void on_link_writable() override;
  void on_link_eof(int error) override;
  void on_link_failed(const LinkFailure& failure) override;
  void on_link_pending() override;
  void on_link_acknowledged(size_t bytes) override;
  void on_link_response(int status, const handshake::HeaderList& fields) override;
  void open_client();

  void process(uint8_t* data, size_t len);
  void process_server_head(uint8_t* data, size_t len);
  void process_client_head(const uint8_t* data, size_t len);
  void hand_over_to_http2(uint8_t* data, size_t len);
  handshake::BuildError answer_stream(int status, std::string_view body, std::span<const handshake::HeaderField> headers);
  void feed_engine(uint8_t* data, size_t len);
  void after_engine();
  void on_eof(int error);
  void fail_client(std::string code, std::string message, int status = 0);
  void take_rejection_body(const uint8_t* data, size_t len);
  void finish_rejection();
  void open_engine(protocol::Role role, const protocol::DeflateAgreement* deflate);
  template <typename Enqueue>
  SendResult queue_message(size_t bytes, Enqueue&& enqueue);
  static std::unique_ptr<Link> socket_link(Loop& loop, int fd, const SocketConfig& config, ExternalLink*& external,
                                           SocketAddress& remote);
  void begin_draining();
  void linger();
  void write_now();
  void write_response_now();
  void update_poll();
  bool wants_input() const;
  void hold(const uint8_t* data, size_t len);
  io::OutputQueue& preopen();
  void arm_timer();
  void mark_dirty();
  protocol::EventSink& sink();

  Loop& loop_;
  std::unique_ptr<Link> link_;
  ExternalLink* external_link_ = nullptr;  // link_ when it is a Duplex's
  std::shared_ptr<const SocketConfig> config_;
  EndpointPhase phase_ = EndpointPhase::ServerHead;
  ServerHandler* server_ = nullptr;
  SocketHandler* handler_ = nullptr;

  uv_timer_t timer_;
  int handles_open_ = 0;
  uint64_t armed_deadline_ = protocol::kNoDeadline;
  uint64_t handshake_deadline_ = protocol::kNoDeadline;
  uint64_t drain_deadline_ = protocol::kNoDeadline;
  uint64_t tls_deadline_ = protocol::kNoDeadline;  // the TLS handshake's own limit (while !link_->ready())

  bool reading_ = true;        // the application wants reads (pause/resume)
  bool started_ = false;       // start() was called (open connections only)
  bool waiting_writable_ = false;
  bool lingering_ = false;     // Draining: our output is done (SHUT_WR / FIN); discarding until EOF
  bool stream_ended_ = false;  // a stream link: our FIN (END_STREAM) followed our close frame
  bool head_started_ = false;  // server: the request's first bytes arrived (an HTTP/2 preface is looked for before)
  bool peer_ended_ = false;    // Draining: the peer's EOF arrived before our last bytes left
  uint64_t response_end_ = 0;  // server: the 101's end in the engine's output (appended_total)
  bool receiving_ = false;     // inside process(): a nested receive_external() is held, not parsed
  std::vector<uint8_t> backlog_;  // Duplex bytes fed during a receive (ours or another socket's)

  std::unique_ptr<handshake::HttpHeadParser> head_;       // an HTTP/1.1 request, until decided
  std::unique_ptr<handshake::ConnectRequest> connect_;    // or a stream's request block
  std::unique_ptr<handshake::UpgradeRequest> request_;  // while the handshake is decided
  std::unique_ptr<handshake::ClientHandshake> client_;
  std::string rejection_body_;
  uint64_t rejection_body_len_ = UINT64_MAX;  // Content-Length of a refused upgrade's body (MAX: until EOF)
  std::unique_ptr<pubsub::Subscriber> subscriber_;  // created on the first subscribe
  std::unique_ptr<protocol::PerMessageDeflate> deflate_;  // outlives engine_, which points to it
  std::unique_ptr<protocol::Connection> engine_;
  std::unique_ptr<io::OutputQueue> preopen_output_;  // the handshake's own bytes (request / responses), while any
  bool preopen_ack_ = false;  // the link sends in place: the handshake's queue keeps bytes until acknowledged
  std::vector<uint8_t> held_;        // bytes after the head, delivered by start() (≤ kMaxHeldInput + one read)
  SocketAddress remote_;
  std::string protocol_;
  std::string extensions_;
};

}  // namespace sockudo::transport
