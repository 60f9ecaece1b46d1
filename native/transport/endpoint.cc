#include "transport/endpoint.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>

#include "transport/errno_name.h"
#include "transport/event_loop.h"
#include "transport/external_link.h"
#include "transport/fd_link.h"
#include "transport/h2_session.h"
#include "transport/tls_link.h"
#include "transport/uring_link.h"

namespace sockudo::transport {

// The handshake's own output queue, created when the handshake first writes (in the link's
// acknowledgement mode when it sends in place) and dropped once it is written.
io::OutputQueue& Endpoint::preopen() {
  if (!preopen_output_) {
    preopen_output_ = std::make_unique<io::OutputQueue>();
    if (preopen_ack_) preopen_output_->set_release_on_ack(true);
  }
  return *preopen_output_;
}

const handshake::UpgradeRequest& Endpoint::upgrade_request() const {
  static const handshake::UpgradeRequest kNone{};  // immutable: no per-process mutable state
  return request_ ? *request_ : kNone;
}

namespace {
// io_uring links carry sockets only (a pipe handed to handleUpgrade stays on readiness polling).
bool is_socket(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
}

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
  // An io_uring link sends straight from our queues: they keep what it took until it was sent.
  if (link_->send_in_place(true)) preopen_ack_ = true;
  loop_.add_member(this);
}

Endpoint::~Endpoint() { loop_.remove_member(this); }

// The link of a socket handed to us: external I/O for fd < 0 (`external` set), else the fd on the
// loop's io_uring when the config asks for it and it is a socket, or readiness polling.
std::unique_ptr<Link> Endpoint::socket_link(Loop& loop, int fd, const SocketConfig& config, ExternalLink*& external,
                                            SocketAddress& remote) {
  if (fd < 0) {
    auto e = std::make_unique<ExternalLink>();
    external = e.get();
    return e;
  }
  peer_address(fd, remote);
  UringRing* ring = config.io_uring ? loop.uring(nullptr) : nullptr;
  if (ring != nullptr && is_socket(fd)) return std::make_unique<UringLink>(loop, *ring, fd);
  return std::make_unique<FdLink>(loop, fd, false);
}

Endpoint* Endpoint::create_server(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config, ServerHandler* server,
                              const uint8_t* initial, size_t initial_len, bool tls) {
  ExternalLink* external = nullptr;
  SocketAddress remote;
  std::unique_ptr<Link> link = socket_link(loop, fd, *config, external, remote);
  const bool tls_link = !external && tls && config->tls_server && config->tls_server->current;
  if (tls_link) {
    LinkFailure failure;
    auto t = TlsLink::server(loop, std::move(link), config->tls_server->current, &failure);
    if (!t) return nullptr;  // out of memory (the FdLink, never polled, closed the fd)
    link = std::move(t);
  }
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

Endpoint* Endpoint::adopt_client(Loop& loop, int fd, std::shared_ptr<const SocketConfig> config,
                                  std::unique_ptr<handshake::ClientHandshake> handshake, SocketHandler* handler) {
  ExternalLink* external = nullptr;
  SocketAddress remote;  // none for a unix socket
  std::unique_ptr<Link> link = socket_link(loop, fd, *config, external, remote);
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->external_link_ = external;
  s->set_handler(handler);
  s->client_ = std::move(handshake);
  s->phase_ = EndpointPhase::ClientHead;
  s->remote_ = std::move(remote);
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  s->update_poll();
  s->arm_timer();
  return s;
}

Endpoint* Endpoint::create_client(Loop& loop, const std::string& ip, uint16_t port, std::shared_ptr<const SocketConfig> config,
                              std::string request, std::unique_ptr<handshake::ClientHandshake> handshake,
                              SocketHandler* handler, const TlsClientParams* tls, int* error, LinkFailure* failure) {
  std::unique_ptr<Link> link = connect_client_link(loop, ip, port, tls, error, failure, config->io_uring);
  if (!link) return nullptr;
  auto* s = new Endpoint(loop, std::move(link), std::move(config));
  s->handler_ = handler;
  s->client_ = std::move(handshake);
  s->phase_ = EndpointPhase::ClientConnecting;
  if (s->config_->handshake_timeout_ms > 0) s->handshake_deadline_ = loop.now_ms() + s->config_->handshake_timeout_ms;
  s->remote_ = {ip, port, ip.find(':') == std::string::npos ? 4 : 6};
  s->preopen().append_copy(reinterpret_cast<const uint8_t*>(request.data()), request.size());
  s->update_poll();  // the link waits for the connect (and the TLS handshake) itself
  s->arm_timer();
  return s;
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
  // In stream order: what the handshake queue sent first, then the engine's output.
  const size_t early = preopen_output_ ? std::min(bytes, preopen_output_->unacknowledged()) : 0;
  if (early > 0) preopen_output_->acknowledge(early);
  if (engine_ && bytes > early) engine_->output().acknowledge(bytes - early);
  // Our last bytes (a close reply) have left the stream: end our direction now.
  if (phase_ == EndpointPhase::Draining && !lingering_ && unsent() == 0) linger();
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
      s->preopen().clear();
      s->preopen().append_copy(reinterpret_cast<const uint8_t*>(out.data()), out.size());
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
      if (error == 0 && phase_ == EndpointPhase::Open && unsent() > 0) {
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
      if (error == 0 && !lingering_ && unsent() > 0) {
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
  // Committed, so a link that sends in place (io_uring) keeps reading them after the clear that
  // follows: they count as sent, not as dropped.
  q.commit(link_->write(std::span<const io::Slice>(part, count)).taken);
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
  return (preopen_output_ ? preopen_output_->bytes() : 0) + (engine_ ? engine_->output().bytes() : 0) + (link_ ? link_->buffered() : 0);
}

// What must still be written before our direction can end. A Duplex's own buffer does not count:
// ending it (on_external_end → Duplex.end()) writes what it holds first, and it reports no
// progress on that buffer short of 'drain', so waiting for it would wait for the drain deadline.
size_t Endpoint::unsent() const {
  return (preopen_output_ ? preopen_output_->bytes() : 0) + (engine_ ? engine_->output().bytes() : 0) +
         (link_ && external_link_ == nullptr ? link_->buffered() : 0);
}

void Endpoint::after_engine() {
  if (phase_ == EndpointPhase::Closed) return;
  if (engine_ && engine_->state() == protocol::ConnectionState::Closed && engine_->output().empty() &&
      engine_->should_close_transport()) {
    // Nothing left to say: a socket closes now; a stream still ends with its FIN (begin_draining).
    if (link_->reports_close()) {
      begin_draining();
    } else {
      destroy();
    }
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
    io::OutputQueue& q = (preopen_output_ && !preopen_output_->empty()) || !engine_ ? preopen() : engine_->output();
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
  // On an HTTP/2 or HTTP/3 stream END_STREAM / FIN is the TCP close (RFC 8441 §5, RFC 9220 §3).
  // A client's goes with its close frame (nothing follows one, RFC 6455 §5.5.1), so a server that
  // forgets the stream once it has answered sees no frame after its answer (Hypercorn drops the
  // whole connection then). A server's follows the closing handshake, as its TCP close would
  // (§7.1.1): with our close reply, or once the peer has answered our close (a FIN before that
  // answer makes Firefox report wasClean false); linger() sends it when nothing is left to write.
  if (!stream_ended_ && engine_ && engine_->state() != protocol::ConnectionState::Open && link_->reports_close() &&
      (engine_->config().role == protocol::Role::Client || engine_->state() == protocol::ConnectionState::Closed)) {
    stream_ended_ = link_->shutdown_write();
  }
  if (engine_) {
    engine_->on_output_committed();
    // Only the handshake has been written so far (the usual state of an idle connection): its
    // queues keep no storage for later (about 1 KiB per connection).
    if (engine_->output().empty() && engine_->output().appended_total() <= response_end_) {
      engine_->output().release_storage();
      // The handshake's queue is gone entirely once nothing in it waits for an acknowledgement.
      if (preopen_output_ && preopen_output_->empty() && preopen_output_->unacknowledged() == 0) preopen_output_.reset();
    }
  }
  const bool was_waiting = waiting_writable_;
  waiting_writable_ = false;
  update_poll();
  if (phase_ == EndpointPhase::Draining && unsent() == 0) {
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
  if (unsent() == 0) {
    // A socket closes at once (RFC 6455 §7.1.1: the server's TCP close follows the handshake).
    // An HTTP/2 or HTTP/3 stream ends with our END_STREAM / FIN instead (RFC 8441 §5, RFC 9220
    // §3): released now it would be reset, and the peer would see an unclean close.
    if (link_->reports_close()) {
      linger();
    } else {
      destroy();
    }
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
    if (preopen_output_) preopen_output_->clear();
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
