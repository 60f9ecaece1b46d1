#include "transport/endpoint.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "transport/errno_name.h"
#include "transport/event_loop.h"
#include "transport/external_link.h"
#include "transport/fd_link.h"
#include "transport/h2_session.h"
#include "transport/tls_link.h"

namespace sockudo::transport {

namespace {
constexpr size_t kMaxIov = 256;     // slices per write (well under IOV_MAX)

// Marks a receive in progress: on this socket (a nested feed of its own is held) and on the loop
// (whose receive buffer the bytes may occupy).
class ReceiveGuard {
 public:
  ReceiveGuard(Loop& loop, bool& flag) : loop_(loop), flag_(flag), prev_(flag) {
    loop_.receive_depth++;
    flag_ = true;
  }
  ~ReceiveGuard() {
    loop_.receive_depth--;
    flag_ = prev_;
  }
  ReceiveGuard(const ReceiveGuard&) = delete;
  ReceiveGuard& operator=(const ReceiveGuard&) = delete;

 private:
  Loop& loop_;
  bool& flag_;
  bool prev_;
};
}  // namespace

Endpoint::Endpoint(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config)
    : loop_(loop), link_(std::move(link)), config_(std::move(config)) {
  uv_timer_init(loop_.uv(), &timer_);
  timer_.data = this;
  handles_open_ = 2;  // the timer and the link
  link_->set_events(this);
  loop_.add_member(this);
}

Endpoint::~Endpoint() { loop_.remove_member(this); }

Endpoint* Endpoint::create_server(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config, ServerHandler* server,
                              const uint8_t* initial, size_t initial_len, bool tls) {
  std::unique_ptr<Link> link;
  ExternalLink* external = nullptr;
  SocketAddress remote;
  if (fd < 0) {
    auto e = std::make_unique<ExternalLink>();
    external = e.get();
    link = std::move(e);
  } else {
    peer_address(fd, remote);
    link = std::make_unique<FdLink>(loop, fd, false);
    if (tls && config->tls_server && config->tls_server->current) {
      LinkFailure failure;
      auto t = TlsLink::server(loop, std::move(link), config->tls_server->current, &failure);
      if (!t) return nullptr;  // out of memory (the FdLink, never polled, closed the fd)
      link = std::move(t);
    }
  }
  const bool tls_link = !external && tls && config->tls_server && config->tls_server->current;
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->external_link_ = external;
  if (tls_link && s->config_->tls_handshake_timeout_ms > 0) s->tls_deadline_ = loop.now_ms() + s->config_->tls_handshake_timeout_ms;
  s->remote_ = std::move(remote);
  s->server_ = server;
  s->phase_ = EndpointPhase::ServerHead;
  server->on_socket_created(*s);
  s->head_ = std::make_unique<handshake::HttpHeadParser>(handshake::HeadKind::Request, s->config_->head_limits);
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  s->update_poll();
  s->arm_timer();
  if (initial_len > 0) {
    std::vector<uint8_t> copy(initial, initial + initial_len);
    s->process(copy.data(), copy.size());
  }
  return s;
}

Endpoint* Endpoint::create_client(Loop& loop, const std::string& ip, uint16_t port, std::shared_ptr<const SocketConfig> config,
                              std::string request, std::unique_ptr<handshake::ClientHandshake> handshake,
                              SocketHandler* handler, const TlsClientParams* tls, int* error, LinkFailure* failure) {
  std::unique_ptr<Link> link = connect_client_link(loop, ip, port, tls, error, failure);
  if (!link) return nullptr;
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->handler_ = handler;
  s->client_ = std::move(handshake);
  s->phase_ = EndpointPhase::ClientConnecting;
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  s->remote_ = {ip, port, ip.find(':') == std::string::npos ? 4 : 6};
  s->preopen_output_.append_copy(reinterpret_cast<const uint8_t*>(request.data()), request.size());
  s->update_poll();  // the link waits for the connect (and the TLS handshake) itself
  s->arm_timer();
  return s;
}

Endpoint* Endpoint::create_stream(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                  ServerHandler* server, std::unique_ptr<handshake::ConnectRequest> request,
                                  const handshake::UpgradeRequest& upgrade, const SocketAddress& remote,
                                  bool announce) {
  ExternalLink* external = link->external() ? static_cast<ExternalLink*>(link.get()) : nullptr;
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->external_link_ = external;
  s->remote_ = remote;
  s->server_ = server;
  s->connect_ = std::move(request);
  s->request_ = upgrade;
  s->phase_ = EndpointPhase::AwaitingDecision;
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  server->on_socket_created(*s);
  s->update_poll();
  s->arm_timer();
  if (announce) s->announce();
  return s;
}

Endpoint* Endpoint::create_client_stream(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                         std::unique_ptr<handshake::ClientHandshake> handshake, SocketHandler* handler,
                                         const SocketAddress& remote) {
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->handler_ = handler;
  s->client_ = std::move(handshake);
  s->phase_ = EndpointPhase::ClientHead;
  s->remote_ = remote;
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  s->update_poll();
  s->arm_timer();
  return s;
}

// RFC 8441 §5: the response HEADERS of our extended CONNECT.
void Endpoint::on_link_response(int status, const handshake::HeaderList& fields) {
  if (phase_ != EndpointPhase::ClientHead || !client_) return;
  if (client_->receive_response(status, fields) == handshake::HeadState::Complete) {
    open_client();
    return;
  }
  if (status < 200 || status > 299) {
    // A refusal: its body (DATA until END_STREAM) is for the application.
    phase_ = EndpointPhase::ClientRejected;
    rejection_body_len_ = UINT64_MAX;
    return;
  }
  fail_client(client_->error_code(), client_->error_reason(), client_->status());
}

void Endpoint::announce() {
  if (phase_ == EndpointPhase::AwaitingDecision && connect_ && server_) server_->on_upgrade_request(*this, *connect_, request_);
}

protocol::EventSink& Endpoint::sink() { return *handler_; }

// --- libuv callbacks ---------------------------------------------------------------------------

// --- link events ---------------------------------------------------------------------------------

void Endpoint::on_link_connected() {
  if (phase_ != EndpointPhase::ClientConnecting) return;
  phase_ = EndpointPhase::ClientHead;
  write_now();  // the request
}

void Endpoint::on_link_data(uint8_t* data, size_t len) {
  ReceiveGuard guard(loop_, receiving_);
  process(data, len);
}

void Endpoint::on_link_writable() {
  if (phase_ != EndpointPhase::Closed) write_now();  // clears waiting_writable_ (and reports drain) once empty
}

void Endpoint::on_link_eof(int error) { on_eof(error); }

void Endpoint::on_link_failed(const LinkFailure& failure) {
  if (phase_ == EndpointPhase::ClientConnecting || phase_ == EndpointPhase::ClientHead) {
    fail_client(failure.code, failure.message);
    return;
  }
  // A server-side TLS failure (garbage, an alert, a refused client certificate).
  if (server_ != nullptr && (phase_ == EndpointPhase::ServerHead || phase_ == EndpointPhase::AwaitingDecision)) {
    server_->on_tls_failure(*this, failure);
  }
  destroy();
}

void Endpoint::on_link_acknowledged(size_t bytes) {
  if (engine_) engine_->output().acknowledge(bytes);
  // Our last bytes (a close reply) have left the stream: end our direction now.
  if (phase_ == EndpointPhase::Draining && !lingering_ && buffered_amount() == 0) linger();
}

void Endpoint::on_link_pending() {
  if (phase_ != EndpointPhase::Closed) loop_.schedule_resume(this);
}

void Endpoint::on_timer(uv_timer_t* handle) {
  auto* s = static_cast<Endpoint*>(handle->data);
  Loop::CallbackScope scope(s->loop_);
  s->armed_deadline_ = protocol::kNoDeadline;
  const uint64_t now = s->loop_.now_ms();
  if (now >= s->drain_deadline_) {  // the peer never took our last bytes
    s->destroy();
    return;
  }
  if (now >= s->tls_deadline_ && !s->link_->ready()) {
    s->destroy();  // the TLS handshake did not finish within its own limit
    return;
  }
  if (now >= s->handshake_deadline_) {
    if (s->phase_ == EndpointPhase::ClientRejected) {
      s->finish_rejection();  // what arrived of the body in time
    } else if (s->phase_ == EndpointPhase::ClientConnecting || s->phase_ == EndpointPhase::ClientHead) {
      s->fail_client("ETIMEDOUT", "opening handshake timed out");
    } else if (!s->link_->ready()) {
      s->destroy();  // a TLS handshake that did not finish in time: nothing to answer in
    } else if (s->link_->frames_answer()) {
      // The application did not decide in time (the stream's request itself arrived whole).
      if (s->server_) s->server_->on_handshake_rejected(*s, 408);
      s->answer_stream(408, "", {});
    } else if (s->phase_ == EndpointPhase::ServerHead || s->phase_ == EndpointPhase::AwaitingDecision) {
      // RFC 9110 §15.5.9: 408 for a request that did not arrive in time.
      std::string out;
      handshake::build_error_response(408, "", {}, out);
      s->preopen_output_.clear();
      s->preopen_output_.append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
      if (s->server_) s->server_->on_handshake_rejected(*s, 408);
      s->begin_draining();
    }
    return;
  }
  if (s->engine_) {
    s->engine_->on_timer(now, s->sink());
    s->after_engine();
    return;
  }
  s->arm_timer();
}

void Endpoint::on_handle_closed(uv_handle_t* handle) { on_link_closed(handle->data); }

void Endpoint::on_link_closed(void* arg) {
  auto* s = static_cast<Endpoint*>(arg);
  if (--s->handles_open_ == 0) delete s;
}

// --- reading -----------------------------------------------------------------------------------

void Endpoint::process(uint8_t* data, size_t len) {
  switch (phase_) {
    case EndpointPhase::ServerHead: return process_server_head(data, len);
    case EndpointPhase::ClientHead: return process_client_head(data, len);
    case EndpointPhase::ClientRejected: return take_rejection_body(data, len);
    case EndpointPhase::AwaitingDecision:
      // Only a Duplex delivers bytes now (a fd socket is not read while the application
      // decides): keep them for the connection, in order (up to kMaxHeldInput, then it pauses).
      return hold(data, len);
    case EndpointPhase::Open:
      if (!started_) return hold(data, len);
      return feed_engine(data, len);
    default:
      return;  // draining or closed: input is not ours to process
  }
}

void Endpoint::hold(const uint8_t* data, size_t len) {
  held_.insert(held_.end(), data, data + len);
  if (held_.size() >= kMaxHeldInput) update_poll();
}

void Endpoint::process_server_head(uint8_t* data, size_t len) {
  // The connection's first bytes: ALPN chose HTTP/2 (RFC 9113 §3.2), or a cleartext client starts
  // with the HTTP/2 preface (prior knowledge, §3.3). An HTTP/2 session takes the link over.
  if (!head_started_ && config_->http2.enabled &&
      (link_->alpn() == "h2" || (config_->http2.cleartext && !link_->encrypted() && H2Session::is_preface_start(data, len)))) {
    return hand_over_to_http2(data, len);
  }
  head_started_ = true;
  const auto r = head_->feed(data, len);
  if (r.state == handshake::HeadState::NeedMore) return;
  handshake::UpgradeVerdict verdict = handshake::validate_upgrade(*head_, request_);
  if (verdict.kind != handshake::UpgradeKind::Valid) {
    std::string out;
    handshake::build_rejection(verdict, out);
    preopen_output_.append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
    server_->on_handshake_rejected(*this, verdict.status);
    begin_draining();
    return;
  }
  // Bytes after the head (often the first frames) wait for the connection to open.
  held_.assign(data + r.consumed, data + len);
  phase_ = EndpointPhase::AwaitingDecision;
  update_poll();
  server_->on_upgrade_request(*this, *head_, request_);
}

// This endpoint was only the first reader of the connection: the session becomes the link's
// reader, and this endpoint goes away without closing the link (its server forgets it).
void Endpoint::hand_over_to_http2(uint8_t* data, size_t len) {
  std::unique_ptr<Link> link = std::move(link_);
  handles_open_--;  // the link is the session's now
  H2Session::create_server(loop_, std::move(link), config_, server_, remote_, data, len);
  destroy();
}

void Endpoint::process_client_head(const uint8_t* data, size_t len) {
  const auto r = client_->feed(data, len);
  if (r.state == handshake::HeadState::NeedMore) return;
  if (r.state == handshake::HeadState::Failed) {
    if (client_->status() == 0 || client_->status() == 101) {
      fail_client(client_->error_code(), client_->error_reason(), client_->status());
      return;
    }
    // A refusal (401, 403, 429...): what the server says in its body is for the application.
    phase_ = EndpointPhase::ClientRejected;
    rejection_body_len_ = UINT64_MAX;
    if (auto cl = handshake::find_field(client_->response_fields(), "content-length")) {
      uint64_t n = 0;
      bool digits = !cl->empty();
      for (char ch : *cl) {
        if (ch < '0' || ch > '9' || n > (UINT64_MAX - 9) / 10) {
          digits = false;
          break;
        }
        n = n * 10 + static_cast<uint64_t>(ch - '0');
      }
      if (digits) rejection_body_len_ = n;
    }
    take_rejection_body(data + r.consumed, len - r.consumed);
    return;
  }
  held_.assign(data + r.consumed, data + len);
  open_client();
}

// The server accepted (a valid 101, or a 2xx to an extended CONNECT): the WebSocket opens.
void Endpoint::open_client() {
  handshake_deadline_ = protocol::kNoDeadline;
  protocol_ = std::string(client_->subprotocol());
  if (auto ext = handshake::find_field(client_->response_fields(), "sec-websocket-extensions")) extensions_ = std::string(*ext);
  // The response was checked against our offer (RFC 7692 §7.1) by the handshake.
  const protocol::DeflateAgreement agreed = client_->deflate();
  open_engine(protocol::Role::Client, client_->deflate_accepted() ? &agreed : nullptr);
  update_poll();
  arm_timer();
  handler_->on_client_open();
}

void Endpoint::take_rejection_body(const uint8_t* data, size_t len) {
  const uint64_t want = std::min<uint64_t>(rejection_body_len_, kMaxRejectionBody);
  const uint64_t room = want - std::min<uint64_t>(want, rejection_body_.size());
  rejection_body_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(std::min<uint64_t>(len, room)));
  if (rejection_body_.size() >= want) finish_rejection();
}

void Endpoint::finish_rejection() {
  if (phase_ != EndpointPhase::ClientRejected) return;
  fail_client(client_->error_code(), client_->error_reason(), client_->status());
}

void Endpoint::feed_engine(uint8_t* data, size_t len) {
  engine_->receive(data, len, loop_.now_ms(), sink());
  after_engine();
}

void Endpoint::on_eof(int error) {
  switch (phase_) {
    case EndpointPhase::Open:
      if (engine_) {
        engine_->on_eof(loop_.now_ms(), sink());
      }
      // The peer only ended its direction (FIN, TLS close_notify): what we queued in answer — a
      // close reply to a close frame that came with the EOF — still goes out before ours ends.
      if (error == 0 && phase_ == EndpointPhase::Open && buffered_amount() > 0) {
        begin_draining();
        return;
      }
      destroy();
      return;
    case EndpointPhase::ClientRejected:
      finish_rejection();  // the body ends with the connection
      return;
    case EndpointPhase::Draining:
      // The peer ended its direction while our last bytes (a close reply) are still on their way:
      // they still go out, within the drain deadline.
      if (error == 0 && !lingering_ && buffered_amount() > 0) {
        peer_ended_ = true;
        update_poll();
        return;
      }
      destroy();
      return;
    case EndpointPhase::ClientConnecting:
    case EndpointPhase::ClientHead: {
      const int e = error < 0 ? -error : ECONNRESET;
      std::string message;
      if (error == 0) {
        message = phase_ == EndpointPhase::ClientHead ? "the server closed the connection during the handshake"
                                                    : "the server closed the connection during the TLS handshake";
      } else {
        message = std::string(phase_ == EndpointPhase::ClientConnecting ? "connect failed: " : "connection failed: ") +
                  std::strerror(e);
      }
      fail_client(errno_name(e, phase_ == EndpointPhase::ClientConnecting ? "ECONNREFUSED" : "ECONNRESET"), message);
      return;
    }
    default:
      destroy();
      return;
  }
}

// --- handshake decision -----------------------------------------------------------------------

void Endpoint::open_engine(protocol::Role role, const protocol::DeflateAgreement* deflate) {
  protocol::ConnectionConfig cc = config_->connection;
  cc.role = role;
  cc.mask_keys = &loop_.mask_keys();
  cc.kernel = loop_.mask_kernel();
  cc.inflate_budget = kInflateBudgetPerTurn;
  if (deflate != nullptr) {
    deflate_ = std::make_unique<protocol::PerMessageDeflate>(role, *deflate, config_->deflate, loop_.deflate());
    cc.rsv1_allowed = true;
    cc.transform = deflate_.get();
    cc.compressor = deflate_.get();
  }
  engine_ = std::make_unique<protocol::Connection>(cc, loop_.now_ms());
  // A stream's session frames our bytes later, in place: they stay ours until it acknowledges.
  if (link_->releases_on_ack()) engine_->output().set_release_on_ack(true);
  client_.reset();
  // A client's request has left by now: free the handshake queue's chunk instead of keeping it
  // for a reuse that never comes. (A server's 101 goes through the engine's own queue.)
  if (preopen_output_.empty()) preopen_output_.clear();
  phase_ = EndpointPhase::Open;
}

handshake::BuildError Endpoint::accept(SocketHandler* handler, const handshake::AcceptOptions& options) {
  if (phase_ != EndpointPhase::AwaitingDecision) return handshake::BuildError::None;
  // RFC 7692 §5: answer the first acceptable permessage-deflate offer; decline the rest.
  handshake::AcceptOptions answer = options;
  protocol::DeflateNegotiation deflate;
  if (config_->deflate_server.enabled && answer.extensions.empty()) {
    deflate = protocol::negotiate_deflate(config_->deflate_server, request_.extensions);
    if (deflate.accepted) answer.extensions = deflate.response;
  }
  std::string out;
  std::vector<handshake::OwnedField> fields;
  const auto err = link_->frames_answer() ? handshake::build_accept_fields(request_, answer, fields)
                                          : handshake::build_accept_response(request_, answer, out);
  if (err != handshake::BuildError::None) return err;
  set_handler(handler);
  handshake_deadline_ = protocol::kNoDeadline;
  protocol_ = std::string(answer.subprotocol);
  extensions_ = std::string(answer.extensions);
  open_engine(protocol::Role::Server, deflate.accepted ? &deflate.agreed : nullptr);
  if (link_->frames_answer()) {
    link_->answer(fields, "", false);  // RFC 8441 §5: a 2xx opens the WebSocket on this stream
  } else {
    engine_->output().append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
    response_end_ = engine_->output().appended_total();
  }
  head_.reset();  // request_ views die with them: clear them too
  connect_.reset();
  request_ = {};
  mark_dirty();
  arm_timer();
  if (server_) server_->on_handshake_decided(*this);
  return handshake::BuildError::None;
}

handshake::BuildError Endpoint::reject(int status, std::string_view body, std::span<const handshake::HeaderField> headers) {
  if (phase_ != EndpointPhase::AwaitingDecision) return handshake::BuildError::None;
  if (link_->frames_answer()) {
    if (server_) server_->on_handshake_decided(*this);
    return answer_stream(status, body, headers);
  }
  std::string out;
  auto err = handshake::build_error_response(status, body, headers, out);
  if (err != handshake::BuildError::None) {
    out.clear();
    handshake::build_error_response(500, "", {}, out);
  }
  preopen_output_.append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
  begin_draining();
  if (server_) server_->on_handshake_decided(*this);
  return err;
}

// A stream's refusal: the session frames it (HEADERS, the body in DATA, END_STREAM) and finishes
// the stream after it; this endpoint is done at once.
handshake::BuildError Endpoint::answer_stream(int status, std::string_view body,
                                             std::span<const handshake::HeaderField> headers) {
  std::vector<handshake::OwnedField> fields;
  auto err = handshake::build_error_fields(status, body, headers, false, fields);
  if (err != handshake::BuildError::None) {
    fields.clear();
    handshake::build_error_fields(500, "", {}, false, fields);
    body = {};
  }
  link_->answer(fields, body, true);
  destroy();
  return err;
}

void Endpoint::start() {
  if (phase_ != EndpointPhase::Open || started_) return;
  started_ = true;
  if (!held_.empty()) {
    std::vector<uint8_t> held = std::move(held_);
    held_.clear();
    ReceiveGuard guard(loop_, receiving_);
    feed_engine(held.data(), held.size());
  }
  update_poll();
}

// --- sending -----------------------------------------------------------------------------------

// One data message of `bytes` through the backpressure policy; `enqueue` hands it to the engine.
template <typename Enqueue>
SendResult Endpoint::queue_message(size_t bytes, Enqueue&& enqueue) {
  if (phase_ != EndpointPhase::Open || !engine_) return SendResult::NotOpen;
  // maxBackpressure bounds the backpressure buffer: bytes the kernel refused. Bytes merely
  // corked for this loop turn (a 101 not yet flushed, earlier sends of this callback) were never
  // offered to the kernel and do not count, so a healthy connection never drops a message.
  if (waiting_writable_ && buffered_amount() + bytes > config_->max_backpressure) {
    if (config_->close_on_backpressure_limit) terminate();
    return SendResult::Dropped;
  }
  const protocol::SendStatus st = enqueue();
  if (st == protocol::SendStatus::NotOpen) return SendResult::NotOpen;
  if (st != protocol::SendStatus::Ok) return SendResult::Invalid;
  if (!waiting_writable_ && engine_->output().bytes() >= link_->flush_threshold()) {
    write_now();
  } else {
    mark_dirty();
  }
  return waiting_writable_ ? SendResult::Backpressure : SendResult::Success;
}

SendResult Endpoint::send(protocol::Opcode opcode, std::span<const uint8_t> payload, std::unique_ptr<io::BufferOwner> owner,
                        bool compress, bool owner_can_move) {
  const uint64_t mark = engine_ ? engine_->output().appended_total() : 0;
  // A link that frames our bytes later, in place (an HTTP/2 stream), keeps pointing at them after
  // send() returns, when JS may move the memory: it gets a private copy from the start.
  if (owner_can_move && owner && link_ && link_->releases_on_ack() && phase_ == EndpointPhase::Open) {
    auto copy = std::make_unique<io::CopiedBytes>(payload.data(), payload.size());
    payload = {copy->mem.get(), payload.size()};
    owner = std::move(copy);  // the JS reference is let go here
    owner_can_move = false;
  }
  const SendResult r = queue_message(payload.size(), [&] {
    return engine_->send_message(opcode, payload, loop_.now_ms(), std::move(owner), compress);
  });
  // Usually a large payload has left by now (written at once); one that waits (backpressure, or
  // corked for this turn) must not depend on memory JS can take away.
  if (owner_can_move && engine_ && phase_ == EndpointPhase::Open) engine_->output().copy_borrowed_since(mark);
  return r;
}

SendResult Endpoint::send_framed(std::span<const uint8_t> frames, std::unique_ptr<io::BufferOwner> owner) {
  return queue_message(frames.size(), [&] { return engine_->send_framed(frames, std::move(owner), loop_.now_ms()); });
}

// --- pub/sub -----------------------------------------------------------------------------------

size_t Endpoint::subscribe(std::string_view topic, bool* changed) {
  if (!subscriber_) subscriber_ = std::make_unique<pubsub::Subscriber>(this);
  return loop_.topics().subscribe(*subscriber_, topic, changed);
}

size_t Endpoint::unsubscribe(std::string_view topic, bool* changed) {
  if (!subscriber_) {
    *changed = false;
    return loop_.topics().subscriber_count(topic);
  }
  return loop_.topics().unsubscribe(*subscriber_, topic, changed);
}

bool Endpoint::is_subscribed(std::string_view topic) const {
  return subscriber_ && loop_.topics().is_subscribed(*subscriber_, topic);
}

std::vector<std::string_view> Endpoint::topics() const {
  return subscriber_ ? loop_.topics().topics_of(*subscriber_) : std::vector<std::string_view>();
}

void Endpoint::unsubscribe_all(const std::function<void(std::string_view, size_t)>& on_left) {
  if (subscriber_) loop_.topics().remove_all(*subscriber_, on_left);
}

SendResult Endpoint::ping(std::span<const uint8_t> payload) {
  if (phase_ != EndpointPhase::Open || !engine_) return SendResult::NotOpen;
  const auto st = engine_->send_ping(payload, loop_.now_ms());
  if (st == protocol::SendStatus::NotOpen) return SendResult::NotOpen;
  if (st != protocol::SendStatus::Ok) return SendResult::Invalid;
  mark_dirty();
  return waiting_writable_ ? SendResult::Backpressure : SendResult::Success;
}

SendResult Endpoint::pong(std::span<const uint8_t> payload) {
  if (phase_ != EndpointPhase::Open || !engine_) return SendResult::NotOpen;
  const auto st = engine_->send_pong(payload, loop_.now_ms());
  if (st == protocol::SendStatus::NotOpen) return SendResult::NotOpen;
  if (st != protocol::SendStatus::Ok) return SendResult::Invalid;
  mark_dirty();
  return waiting_writable_ ? SendResult::Backpressure : SendResult::Success;
}

protocol::SendStatus Endpoint::close(uint16_t code, std::span<const uint8_t> reason) {
  if (phase_ != EndpointPhase::Open || !engine_) return protocol::SendStatus::NotOpen;
  const auto st = engine_->close(code, reason, loop_.now_ms());
  if (st == protocol::SendStatus::Ok) {
    // A close before start(): nothing of the peer's will be processed, but its close frame must
    // still be read, so start reading now.
    if (!started_) {
      started_ = true;
      held_.clear();
      update_poll();
    }
    after_engine();
  }
  return st;
}

void Endpoint::terminate() {
  if (phase_ != EndpointPhase::Open || !engine_) {
    destroy();
    return;
  }
  // The connection is open as far as the application knows, so the peer must see it open too
  // (then closed, 1006), as with `ws`: a 101 still corked (terminate() inside 'connection') is
  // written before the socket closes; everything after it is dropped.
  if (engine_->output().committed_total() < response_end_) write_response_now();
  engine_->terminate(sink());
  destroy();
}

// One best-effort write of what remains of the 101 (it is small: the kernel takes it at once).
void Endpoint::write_response_now() {
  io::OutputQueue& q = engine_->output();
  io::Slice slices[kMaxIov];
  const size_t n = q.gather(slices, kMaxIov);
  size_t left = static_cast<size_t>(response_end_ - q.committed_total());
  io::Slice part[kMaxIov];
  size_t count = 0;
  for (size_t i = 0; i < n && left > 0; i++) {
    const size_t len = std::min(left, slices[i].len);
    part[count++] = {slices[i].data, len};
    left -= len;
  }
  (void)link_->write(std::span<const io::Slice>(part, count));
}

void Endpoint::pause_reading() {
  reading_ = false;
  if (engine_) engine_->set_paused(true, loop_.now_ms());
  update_poll();
  arm_timer();
}

void Endpoint::resume_reading() {
  reading_ = true;
  if (engine_) engine_->set_paused(false, loop_.now_ms());
  update_poll();
  arm_timer();
}

size_t Endpoint::buffered_amount() const {
  return preopen_output_.bytes() + (engine_ ? engine_->output().bytes() : 0) + (link_ ? link_->buffered() : 0);
}

void Endpoint::after_engine() {
  if (phase_ == EndpointPhase::Closed) return;
  if (engine_ && engine_->state() == protocol::ConnectionState::Closed && engine_->output().empty() &&
      engine_->should_close_transport()) {
    destroy();
    return;
  }
  if (engine_ && engine_->should_close_transport()) {
    begin_draining();
    return;
  }
  if (engine_ && engine_->suspended()) {
    loop_.schedule_resume(this);
    update_poll();
  }
  if (buffered_amount() > 0) mark_dirty();
  arm_timer();
}

void Endpoint::resume_from_loop() {
  if (phase_ == EndpointPhase::Closed) return;
  if (engine_ && engine_->suspended()) {
    {
      ReceiveGuard guard(loop_, receiving_);
      engine_->resume(loop_.now_ms(), sink());
    }
    after_engine();  // lists the socket again if it is still suspended
    if (phase_ == EndpointPhase::Closed || (engine_ && engine_->suspended())) return;
  }
  if (!backlog_.empty()) {
    std::vector<uint8_t> bytes;
    bytes.swap(backlog_);
    ReceiveGuard guard(loop_, receiving_);
    process(bytes.data(), bytes.size());
  }
  update_poll();
  if (phase_ != EndpointPhase::Closed && wants_input()) link_->pump();  // TLS records kept while input was off
}

void Endpoint::mark_dirty() {
  if (!dirty_slot.listed && phase_ != EndpointPhase::Closed) loop_.mark_dirty(this);
}

void Endpoint::flush() {
  if (phase_ != EndpointPhase::Closed && !waiting_writable_) write_now();
}

void Endpoint::flush_from_loop() {
  if (phase_ == EndpointPhase::Closed || waiting_writable_) return;
  if (phase_ == EndpointPhase::ClientConnecting) return;  // the request leaves once connected
  write_now();
}

// Writes as much of the queued output as the kernel takes, in one writev per call.
void Endpoint::write_now() {
  for (;;) {
    io::OutputQueue& q = !preopen_output_.empty() || !engine_ ? preopen_output_ : engine_->output();
    if (q.empty()) break;
    io::Slice slices[kMaxIov];
    const size_t n = q.gather(slices, kMaxIov);
    const LinkWrite w = link_->write(std::span<const io::Slice>(slices, n));
    if (w.error != 0) {
      on_eof(w.error);
      return;
    }
    q.commit(w.taken);
    if (w.blocked || w.taken == 0) {  // the kernel's buffer (or the Duplex) is full: wait for the link
      waiting_writable_ = true;
      update_poll();
      if (engine_ && w.taken > 0) engine_->on_output_committed();
      return;
    }
  }
  if (engine_) engine_->on_output_committed();
  const bool was_waiting = waiting_writable_;
  waiting_writable_ = false;
  update_poll();
  if (phase_ == EndpointPhase::Draining && buffered_amount() == 0) {
    linger();
    return;
  }
  // The engine may have queued a deferred pong on commit.
  if (engine_ && !engine_->output().empty()) mark_dirty();
  if (was_waiting && phase_ == EndpointPhase::Open && handler_) handler_->on_drain();
}

void Endpoint::begin_draining() {
  if (phase_ == EndpointPhase::Draining || phase_ == EndpointPhase::Closed) return;
  phase_ = EndpointPhase::Draining;
  held_.clear();
  // Bound the wait for a peer that never reads what we still have to say.
  const uint64_t wait = config_->connection.close_timeout_ms > 0 ? config_->connection.close_timeout_ms : 1000;
  drain_deadline_ = loop_.now_ms() + wait;
  if (buffered_amount() == 0) {
    destroy();
    return;
  }
  update_poll();
  arm_timer();
  if (!waiting_writable_) write_now();
}

// Our last bytes (a close frame, an HTTP rejection) are in the kernel, but the peer may still be
// sending: closing now with unread input would make the kernel answer with RST, and a peer that
// reads the reset first never sees what we said (RFC 6455 §7.1.1 wants the TCP close to follow
// the close frame, not overtake it). So half-close (FIN after our data) and discard input until
// the peer's EOF, within the drain deadline already armed by begin_draining().
void Endpoint::linger() {
  if (lingering_ || !link_->shutdown_write()) {
    destroy();  // a Duplex (it is ended instead), or the peer is already gone
    return;
  }
  // The peer ended its side already: nothing more will be read. A link that reports its own end
  // (an HTTP/2 stream closes once our END_STREAM is out) is waited for; a socket can go now.
  if (peer_ended_ && !link_->reports_close()) {
    destroy();
    return;
  }
  lingering_ = true;
  update_poll();
  arm_timer();
}

void Endpoint::fail_client(std::string code, std::string message, int status) {
  ClientFailure f{std::move(code), std::move(message), status, {}, std::move(rejection_body_)};
  if (client_ && status != 0) {
    const auto& head = client_->response_fields();
    for (size_t i = 0; i < head.header_count(); i++) {
      f.raw_head.append(head.header_name(i)).append(": ").append(head.header_value(i)).append("\r\n");
    }
  }
  if (handler_) handler_->on_client_failed(f);  // the connection never opened: no on_close
  destroy();
}

// --- readiness and timers ----------------------------------------------------------------------

// Whether input is wanted now. A fd socket is not read while the application decides or before
// start() (the kernel keeps the bytes); a Duplex cannot be stopped at once, so it may deliver up
// to kMaxHeldInput then.
bool Endpoint::wants_input() const {
  switch (phase_) {
    case EndpointPhase::ServerHead:
    case EndpointPhase::ClientHead:
    case EndpointPhase::ClientRejected:
    case EndpointPhase::Draining: return !peer_ended_;  // Draining: notice the peer's EOF / reset
    case EndpointPhase::AwaitingDecision: return link_->external() && held_.size() < kMaxHeldInput;
    case EndpointPhase::Open:
      if (!started_) return link_->external() && held_.size() < kMaxHeldInput;
      return reading_ && !(engine_ && engine_->suspended()) && backlog_.size() < kMaxHeldInput;
    default: return false;
  }
}

void Endpoint::update_poll() {
  if (phase_ == EndpointPhase::Closed) return;
  link_->set_wants(wants_input(), waiting_writable_);
}

void Endpoint::arm_timer() {
  if (phase_ == EndpointPhase::Closed) return;
  uint64_t deadline = handshake_deadline_;
  if (!link_->ready() && tls_deadline_ < deadline) deadline = tls_deadline_;
  if (drain_deadline_ < deadline) deadline = drain_deadline_;
  if (engine_) deadline = std::min(deadline, engine_->next_deadline());
  if (deadline == protocol::kNoDeadline) {
    if (armed_deadline_ != protocol::kNoDeadline) uv_timer_stop(&timer_);
    armed_deadline_ = protocol::kNoDeadline;
    return;
  }
  // Lazy re-arming: a deadline that moved later (the idle clock after every read) is picked up
  // when the earlier timer fires, instead of re-inserting into the timer heap on every read.
  if (armed_deadline_ != protocol::kNoDeadline && armed_deadline_ <= deadline) return;
  const uint64_t now = loop_.now_ms();
  armed_deadline_ = deadline;
  uv_timer_start(&timer_, &Endpoint::on_timer, deadline > now ? deadline - now : 0, 0);
}

// --- external I/O ------------------------------------------------------------------------------

// Called from JS (a Duplex's data), so no callback scope is opened here. From inside a receive
// (a message handler feeding a tunnelled connection, or this one) the loop's receive buffer is
// in use and the engine must not be re-entered: the bytes wait for the turn's resume pass.
void Endpoint::receive_external(const uint8_t* data, size_t len) {
  if (phase_ == EndpointPhase::Closed || len == 0) return;
  if (receiving_ || loop_.receive_depth > 0 || !backlog_.empty()) {
    backlog_.insert(backlog_.end(), data, data + len);
    loop_.schedule_resume(this);
    update_poll();
    return;
  }
  while (len > 0 && phase_ != EndpointPhase::Closed) {
    const size_t n = std::min(len, Loop::kReceiveBufferSize);
    uint8_t* buf = loop_.receive_buffer();
    std::memcpy(buf, data, n);
    {
      ReceiveGuard guard(loop_, receiving_);
      process(buf, n);
    }
    data += n;
    len -= n;
  }
}

void Endpoint::external_eof() {
  on_eof(0);
}

void Endpoint::external_drained() {
  if (phase_ != EndpointPhase::Closed && external_link_ != nullptr) external_link_->drained();  // → on_link_writable
}

void Endpoint::set_handler(SocketHandler* handler) {
  handler_ = handler;
  if (external_link_ != nullptr) external_link_->set_handler(handler);
}

// --- teardown ----------------------------------------------------------------------------------

void Endpoint::destroy() {
  if (phase_ == EndpointPhase::Closed) return;
  // Memory is released only in the last uv_close callback, so an engine call in progress (this
  // may run from inside one of its callbacks) finishes on intact objects.
  const bool was_open = phase_ == EndpointPhase::Open || (phase_ == EndpointPhase::Draining && engine_);
  phase_ = EndpointPhase::Closed;
  if (was_open && engine_ && handler_) engine_->terminate(*handler_);  // on_close exactly once (no-op if reported)
  // After on_close, whose handler may still list (and leave) the topics; no publish reaches a
  // closed socket either way.
  if (subscriber_) loop_.topics().remove_all(*subscriber_);
  const bool link_reads_later = link_ && link_->reads_after_write();
  if (link_) link_->close(&Endpoint::on_link_closed, this);  // a Duplex is ended; counted in handles_open_
  uv_timer_stop(&timer_);
  // Unsent output is dropped now (its borrowed JS buffers released), unless a link operation may
  // still read it: then it goes with the socket, after the link's close completed.
  if (!link_reads_later) {
    preopen_output_.clear();
    if (engine_) engine_->output().clear();
  }
  loop_.unmark_dirty(this);
  loop_.unschedule_resume(this);
  backlog_.clear();
  SocketHandler* h = handler_;
  set_handler(nullptr);
  if (h) h->on_detached();
  if (server_) server_->on_socket_gone(*this);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &Endpoint::on_handle_closed);
}

}  // namespace sockudo::transport
