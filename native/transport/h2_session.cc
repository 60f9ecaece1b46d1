#include "transport/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "transport/errno_name.h"
#include "transport/event_loop.h"
#include "transport/fd_link.h"
#include "transport/tls_link.h"

namespace sockudo::transport {

namespace {

constexpr char kPreface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kPrefaceLen = sizeof(kPreface) - 1;
constexpr size_t kMaxIov = 256;

H2Session* self(void* user_data) { return static_cast<H2Session*>(user_data); }

std::string_view view(nghttp2_rcbuf* buf) {
  const nghttp2_vec v = nghttp2_rcbuf_get_buf(buf);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

int begin_headers_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  return self(user_data)->on_begin_headers(frame->hd.stream_id, frame->headers.cat);
}

int header_cb(nghttp2_session*, const nghttp2_frame* frame, nghttp2_rcbuf* name, nghttp2_rcbuf* value, uint8_t,
              void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  return self(user_data)->on_header(frame->hd.stream_id, frame->headers.cat, view(name), view(value));
}

int frame_recv_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  const int cat = frame->hd.type == NGHTTP2_HEADERS ? frame->headers.cat : -1;
  return self(user_data)->on_frame_recv(frame->hd.type, frame->hd.stream_id, frame->hd.flags, cat);
}

int data_chunk_cb(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len, void* user_data) {
  return self(user_data)->on_data_chunk(stream_id, data, len);
}

int frame_send_cb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  return self(user_data)->on_frame_send(frame->hd.type, frame->hd.stream_id, frame->hd.flags);
}

int stream_close_cb(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user_data) {
  return self(user_data)->on_stream_close(stream_id, error_code);
}

nghttp2_ssize send_cb(nghttp2_session*, const uint8_t* data, size_t len, int, void* user_data) {
  return self(user_data)->on_send(data, len);
}

int send_data_cb(nghttp2_session*, nghttp2_frame* frame, const uint8_t* framehd, size_t length,
                 nghttp2_data_source* source, void* user_data) {
  return self(user_data)->on_send_data(static_cast<H2Stream*>(source->ptr), framehd, length, frame->data.padlen);
}

}  // namespace

bool H2Session::is_preface_start(const uint8_t* data, size_t len) {
  const size_t n = std::min(len, kPrefaceLen);
  return n > 0 && std::memcmp(data, kPreface, n) == 0;
}

H2Session::H2Session(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                     ServerHandler* server, const SocketAddress& remote)
    : loop_(loop), link_(std::move(link)), config_(std::move(config)), server_(server), remote_(remote) {
  uv_timer_init(loop_.uv(), &timer_);
  timer_.data = this;
  handles_open_ = 2;  // the timer and the link
  link_->set_events(this);
  loop_.add_member(this);
  idle_since_ = loop_.now_ms();
}

H2Session::~H2Session() {
  if (ng_ != nullptr) nghttp2_session_del(ng_);
  loop_.remove_member(this);
}

H2Session* H2Session::create_server(Loop& loop, std::unique_ptr<Link> link, std::shared_ptr<const SocketConfig> config,
                                    ServerHandler* server, const SocketAddress& remote, uint8_t* data, size_t len) {
  auto* s = new H2Session(loop, std::move(link), std::move(config), server, remote);
  server->on_session_created(*s);
  if (!s->start()) {
    s->destroy();
    return nullptr;
  }
  s->update_wants();
  s->arm_timer();
  s->on_link_data(data, len);
  return s;
}

bool H2Session::start() {
  nghttp2_session_callbacks* cb = nullptr;
  if (nghttp2_session_callbacks_new(&cb) != 0) return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cb, begin_headers_cb);
  nghttp2_session_callbacks_set_on_header_callback2(cb, header_cb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, frame_recv_cb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, data_chunk_cb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, stream_close_cb);
  nghttp2_session_callbacks_set_on_frame_send_callback(cb, frame_send_cb);
  nghttp2_session_callbacks_set_send_callback2(cb, send_cb);
  nghttp2_session_callbacks_set_send_data_callback(cb, send_data_cb);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cb);
    return false;
  }
  // Windows open as the endpoints consume (h2_stream_link.h), not as bytes arrive.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_max_send_header_block_length(opt, 64 * 1024);
  const int rv = client_role() ? nghttp2_session_client_new2(&ng_, cb, this, opt) : nghttp2_session_server_new2(&ng_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  if (rv != 0) return false;
  const auto& h2 = config_->http2;
  nghttp2_settings_entry server_settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, h2.max_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h2.window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(config_->head_limits.max_head_size)},
      {NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1},  // RFC 8441 §3
  };
  nghttp2_settings_entry client_settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, h2.window_size},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, static_cast<uint32_t>(config_->head_limits.max_head_size)},
  };
  const int settings_rv = client_role() ? nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, client_settings, 3)
                                        : nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, server_settings, 4);
  if (settings_rv != 0) return false;
  if (h2.connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE &&
      nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, static_cast<int32_t>(h2.connection_window_size)) != 0)
    return false;
  mark_dirty();
  return true;
}

// --- input ---------------------------------------------------------------------------------------

void H2Session::on_link_data(uint8_t* data, size_t len) {
  if (closed_) return;
  received_any_ = true;
  if (backlog_.empty()) new_streams_ = 0;  // a new read: a new budget (the link reads once per turn)
  receive(data, len);
  sweep();
  maybe_finish();
}

void H2Session::receive(uint8_t* data, size_t len) {
  if (!backlog_.empty()) {  // still working through an earlier read: keep the order
    backlog_.insert(backlog_.end(), data, data + len);
    return;
  }
  receiving_ = true;
  loop_.receive_depth++;
  nghttp2_ssize rv = nghttp2_session_mem_recv2(ng_, data, len);
  loop_.receive_depth--;
  receiving_ = false;
  if (closed_) return;
  if (rv >= 0 && pause_requested_) {
    // Over this turn's budget of new requests: the rest waits (not read further meanwhile).
    backlog_.assign(data + rv, data + len);
    loop_.schedule_resume(this);
    update_wants();
    rv = 0;
  }
  if (rv < 0 && client_role() && !ready_ && client_ != nullptr) {
    // The server's first bytes are not HTTP/2 (an HTTP/1.1-only server answering the preface).
    fail_client("ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED", std::string("the server did not answer in HTTP/2: ") + nghttp2_strerror(static_cast<int>(rv)));
    destroy();
    return;
  }
  if (rv < 0) {
    // A fatal error (a flood, too many CONTINUATIONs, a bad preface, ...): GOAWAY with the reason,
    // then the connection closes once it is written (maybe_finish) or the drain bound passes.
    going_away_ = true;
    const uint32_t code = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS ? NGHTTP2_ENHANCE_YOUR_CALM
                                                                                                 : NGHTTP2_PROTOCOL_ERROR;
    if (nghttp2_session_terminate_session(ng_, code) != 0) {
      destroy();
      return;
    }
    idle_since_ = loop_.now_ms();  // bounded: the idle timer ends it if the GOAWAY cannot leave
    arm_timer();
    mark_dirty();
    return;
  }
  mark_dirty();  // SETTINGS/PING acks, WINDOW_UPDATEs
}

int H2Session::on_begin_headers(int32_t stream_id, int category) {
  if (category == NGHTTP2_HCAT_RESPONSE || (category == NGHTTP2_HCAT_HEADERS && client_role())) {
    if (auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id))) {
      st->response_status = 0;
      st->response.list.clear();
    }
    return 0;
  }
  if (category != NGHTTP2_HCAT_REQUEST || going_away_) return 0;
  new_streams_++;
  requested_ = true;
  auto* st = new H2Stream();
  st->session = this;
  st->id = stream_id;
  st->request = std::make_unique<handshake::ConnectRequest>(config_->head_limits);
  streams_.insert(st);
  nghttp2_session_set_stream_user_data(ng_, stream_id, st);
  return 0;
}

int H2Session::on_header(int32_t stream_id, int category, std::string_view name, std::string_view value) {
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  if (st == nullptr) return 0;
  if (category == NGHTTP2_HCAT_RESPONSE) {  // a client stream's answer (nghttp2 checked its syntax)
    if (name == ":status") {
      int status = 0;
      for (char c : value) status = c >= '0' && c <= '9' && status < 1000 ? status * 10 + (c - '0') : 1000;
      st->response_status = status;
    } else if (st->response.list.size() < config_->head_limits.max_headers) {
      st->response.list.push_back({std::string(name), std::string(value)});
    }
    return 0;
  }
  if (category != NGHTTP2_HCAT_REQUEST) return 0;
  if (st->request) st->request->add(name, value);
  // Past the turn's budget: pause after this field (mem_recv returns; the rest waits a turn).
  if (new_streams_ > kMaxNewStreamsPerTurn && !pause_requested_) {
    pause_requested_ = true;
    return NGHTTP2_ERR_PAUSE;
  }
  return 0;
}

int H2Session::on_frame_recv(int type, int32_t stream_id, uint8_t flags, int category) {
  auto* st = stream_id == 0 ? nullptr : static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  switch (type) {
    case NGHTTP2_HEADERS:
      if (st != nullptr && category == NGHTTP2_HCAT_RESPONSE) {
        if ((flags & NGHTTP2_FLAG_END_STREAM) != 0) st->remote_ended = true;
        if (st->events != nullptr) st->events->on_link_response(st->response_status, st->response);
        if (st->remote_ended && st->held.empty() && st->events != nullptr) deliver_eof(st, 0);
        break;
      }
      if (st != nullptr && category == NGHTTP2_HCAT_REQUEST && st->request) {
        if ((flags & NGHTTP2_FLAG_END_STREAM) != 0) st->remote_ended = true;
        on_request(st);
      }
      break;
    case NGHTTP2_DATA:
      if (st != nullptr && (flags & NGHTTP2_FLAG_END_STREAM) != 0) {
        st->remote_ended = true;
        if (st->held.empty() && st->events != nullptr) deliver_eof(st, 0);
      }
      break;
    case NGHTTP2_WINDOW_UPDATE:
      notify_writable(stream_id == 0 ? nullptr : st);
      break;
    case NGHTTP2_SETTINGS:
      if ((flags & NGHTTP2_FLAG_ACK) != 0) break;
      notify_writable(nullptr);  // SETTINGS_INITIAL_WINDOW_SIZE may have grown
      if (client_role() && !ready_) {
        ready_ = true;
        idle_since_ = streams_.empty() ? loop_.now_ms() : 0;
        arm_timer();
        if (client_ != nullptr)
          client_->on_session_ready(nghttp2_session_get_remote_settings(ng_, NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1);
      }
      break;
    default:
      break;
  }
  return 0;
}

// A complete request block: a WebSocket for the application, or an answer from here.
void H2Session::on_request(H2Stream* st) {
  std::unique_ptr<handshake::ConnectRequest> request = std::move(st->request);
  handshake::UpgradeRequest upgrade;
  const handshake::UpgradeVerdict verdict = handshake::validate_extended_connect(*request, upgrade);
  if (verdict.kind != handshake::UpgradeKind::Valid || closed_ || going_away_) {
    refuse(st, verdict.kind == handshake::UpgradeKind::Valid ? handshake::UpgradeVerdict{handshake::UpgradeKind::Invalid, 503, ""} : verdict);
    return;
  }
  st->has_endpoint = true;
  idle_since_ = 0;
  Endpoint::create_stream(loop_, std::make_unique<H2StreamLink>(st), config_, server_, std::move(request), upgrade, remote_);
}

void H2Session::refuse(H2Stream* st, const handshake::UpgradeVerdict& verdict) {
  std::vector<handshake::OwnedField> fields;
  const std::string_view body = verdict.reason;
  handshake::build_error_fields(verdict.status, body, {}, verdict.version_hint, fields);
  H2StreamLink link(st);
  link.answer(fields, body, true);
}

int H2Session::on_data_chunk(int32_t stream_id, const uint8_t* data, size_t len) {
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  if (st == nullptr || st->detached || st->refusal || !st->has_endpoint) {
    // Nobody will read it (a refused request's body, a stream whose WebSocket is gone): give the
    // window back at once.
    nghttp2_session_consume(ng_, stream_id, len);
    return 0;
  }
  if (st->wants_read && st->held.empty() && st->events != nullptr) {
    // The bytes sit in the loop's receive (or TLS) buffer, which is ours: the engine unmasks in place.
    st->events->on_link_data(const_cast<uint8_t*>(data), len);
    if (!closed_) nghttp2_session_consume(ng_, stream_id, len);
    return 0;
  }
  st->held.insert(st->held.end(), data, data + len);  // bounded by the window we advertised
  return 0;
}

// RFC 9113 §8.1: after a complete response to a request whose body the server does not want,
// RST_STREAM with NO_ERROR asks the client to stop sending it.
int H2Session::on_frame_send(int type, int32_t stream_id, uint8_t flags) {
  if ((type != NGHTTP2_DATA && type != NGHTTP2_HEADERS) || (flags & NGHTTP2_FLAG_END_STREAM) == 0) return 0;
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  if (st != nullptr && st->refusal && !st->remote_ended && !st->closed)
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, stream_id, NGHTTP2_NO_ERROR);
  return 0;
}

int H2Session::on_stream_close(int32_t stream_id, uint32_t error_code) {
  auto* st = static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  if (st == nullptr) return 0;
  st->closed = true;
  st->pending.clear();
  st->pending_bytes = 0;
  maybe_done_.push_back(st);
  if (st->events != nullptr) {
    // A clean end (both END_STREAMs) is 0, anything else a reset. Reported even when the peer's
    // END_STREAM was: an endpoint lingering after its own END_STREAM waits for this.
    st->eof_delivered = true;
    st->events->on_link_eof(error_code == NGHTTP2_NO_ERROR && st->remote_ended ? 0 : -ECONNRESET);
  }
  if (st->in_flight == 0 && st->close_done != nullptr) {
    auto done = st->close_done;
    st->close_done = nullptr;
    done(st->close_arg);
  }
  return 0;
}

void H2Session::deliver_eof(H2Stream* st, int error) {
  if (st->eof_delivered || st->events == nullptr) return;
  st->eof_delivered = true;
  st->events->on_link_eof(error);
}

void H2Session::notify_writable(H2Stream* only) {
  std::vector<H2Stream*> blocked;
  if (only != nullptr) {
    if (only->write_blocked) blocked.push_back(only);
  } else {
    for (H2Stream* st : streams_)
      if (st->write_blocked) blocked.push_back(st);
  }
  for (H2Stream* st : blocked) {
    st->write_blocked = false;
    if (st->events != nullptr && !st->closed) st->events->on_link_writable();
  }
}

// --- output --------------------------------------------------------------------------------------

long H2Session::on_send(const uint8_t* data, size_t len) {
  if (out_.bytes() >= kMaxOutput) return NGHTTP2_ERR_WOULDBLOCK;
  out_.append_copy(data, len);
  return static_cast<long>(len);
}

int H2Session::on_send_data(H2Stream* st, const uint8_t* framehd, size_t length, size_t padlen) {
  if (out_.bytes() >= kMaxOutput) return NGHTTP2_ERR_WOULDBLOCK;
  out_.append_copy(framehd, 9);
  if (padlen > 0) {  // we never ask for padding; written as RFC 9113 §6.1 says all the same
    const uint8_t pad_length = static_cast<uint8_t>(padlen - 1);
    out_.append_copy(&pad_length, 1);
  }
  size_t left = length;
  while (left > 0 && !st->pending.empty()) {
    io::Slice& front = st->pending.front();
    const size_t n = std::min(left, front.len);
    out_.append_borrowed(front.data, n, nullptr);  // the endpoint keeps them until acknowledged
    front.data += n;
    front.len -= n;
    left -= n;
    if (front.len == 0) st->pending.pop_front();
  }
  st->pending_bytes -= length - left;
  if (padlen > 1) {
    const std::vector<uint8_t> zeros(padlen - 1, 0);
    out_.append_copy(zeros.data(), zeros.size());
  }
  st->in_flight += length - left;
  acks_.push_back({out_.appended_total(), st, length - left});
  return 0;
}

void H2Session::mark_dirty() {
  if (!closed_ && !dirty_slot.listed) loop_.mark_dirty(this);
}

void H2Session::flush_from_loop() {
  if (closed_) return;
  for (int round = 0; round < 4 && !closed_; round++) {
    if (!waiting_writable_) {
      const int rv = nghttp2_session_send(ng_);
      if (rv != 0) {
        destroy();
        return;
      }
    }
    write_out();
    if (waiting_writable_ || !nghttp2_session_want_write(ng_)) break;
  }
  // More to frame and the link still takes bytes: go on in the loop's next flush.
  if (!closed_ && !waiting_writable_ && nghttp2_session_want_write(ng_)) mark_dirty();
  sweep();
  maybe_finish();
}

void H2Session::write_out() {
  while (!closed_ && !out_.empty()) {
    io::Slice slices[kMaxIov];
    const size_t n = out_.gather(slices, kMaxIov);
    const LinkWrite w = link_->write(std::span<const io::Slice>(slices, n));
    if (w.error != 0) {
      on_link_eof(w.error);
      return;
    }
    out_.commit(w.taken);
    settle_acks();
    if (w.blocked || w.taken == 0) {
      waiting_writable_ = true;
      update_wants();
      return;
    }
  }
  if (waiting_writable_) {
    waiting_writable_ = false;
    update_wants();
  }
}

// DATA the link has taken is the streams' no longer: their endpoints may release it.
void H2Session::settle_acks() {
  const uint64_t written = out_.committed_total();
  while (!acks_.empty() && acks_.front().end <= written) {
    const Ack a = acks_.front();
    acks_.pop_front();
    H2Stream* st = a.stream;
    st->in_flight -= a.bytes;
    if (st->in_flight == 0) maybe_done_.push_back(st);
    if (st->events != nullptr) st->events->on_link_acknowledged(a.bytes);
    if (st->in_flight == 0 && st->close_done != nullptr) {
      auto done = st->close_done;
      st->close_done = nullptr;
      done(st->close_arg);
    }
  }
}

void H2Session::on_link_writable() {
  if (closed_) return;
  waiting_writable_ = false;
  update_wants();
  flush_from_loop();
}

void H2Session::update_wants() {
  if (!closed_) link_->set_wants(backlog_.empty(), waiting_writable_);
}

// --- ending --------------------------------------------------------------------------------------

void H2Session::release_stream(H2Stream* st) {
  // Our END_STREAM asked for after everything the endpoint wrote still goes out (read_websocket
  // answers EOF), so a stream whose peer ended too closes cleanly instead of being reset: the
  // peer's END_STREAM often comes with its close frame, before ours was framed.
  const bool ending_cleanly = (st->end_sent || (st->end_requested && st->pending_bytes == 0)) && st->remote_ended;
  st->detached = true;
  maybe_done_.push_back(st);
  st->events = nullptr;
  st->pending.clear();
  st->pending_bytes = 0;
  st->held.clear();
  if (!closed_ && !st->closed) {
    if (!ending_cleanly && !st->refusal) {
      nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    }
    mark_dirty();
  }
  if (closed_ && handles_open_ == 0) {  // the connection is gone already: the last stream frees it
    sweep();
    if (streams_.empty()) delete this;
  }
}

// Frees the streams that may have finished since the last sweep (O(those), not O(all streams):
// a connection may carry thousands).
void H2Session::sweep() {
  if (receiving_) return;
  std::vector<H2Stream*> maybe;
  maybe.swap(maybe_done_);
  for (H2Stream* st : maybe) {
    auto it = streams_.find(st);
    if (it == streams_.end() || !st->finished()) continue;  // freed already, or not done yet (listed again when it is)
    if (!closed_) nghttp2_session_set_stream_user_data(ng_, st->id, nullptr);
    streams_.erase(it);
    delete st;
  }
  if (streams_.empty() && idle_since_ == 0 && !client_role()) {
    idle_since_ = loop_.now_ms();
    arm_timer();
  }
}

void H2Session::maybe_finish() {
  if (closed_) return;
  const bool idle_out = out_.empty() && !nghttp2_session_want_write(ng_);
  // nghttp2 is done (a fatal error's GOAWAY went out), or we said GOAWAY and the last stream ended.
  if (idle_out && (!nghttp2_session_want_read(ng_) || (going_away_ && streams_.empty()))) destroy();
}

// RFC 9113 §6.8: GOAWAY naming the last stream we processed; those go on, no new ones start.
void H2Session::close_gracefully() {
  if (closed_ || going_away_) return;
  going_away_ = true;
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_), NGHTTP2_NO_ERROR, nullptr, 0);
  mark_dirty();
}

void H2Session::arm_timer() {
  if (closed_) return;
  // Client: until the server's SETTINGS, the handshake timeout. Server: a connection that has not
  // started a request yet gets handshakeTimeout (as an HTTP/1.1 head would), later the idle timeout.
  uint64_t limit = client_role() ? (ready_ ? 0 : config_->handshake_timeout_ms) : config_->http2.idle_timeout_ms;
  if (!client_role() && !requested_ && config_->handshake_timeout_ms > 0 && (limit == 0 || config_->handshake_timeout_ms < limit))
    limit = config_->handshake_timeout_ms;
  if (idle_since_ == 0 || limit == 0) {
    uv_timer_stop(&timer_);
    return;
  }
  const uint64_t deadline = idle_since_ + limit;
  const uint64_t now = loop_.now_ms();
  uv_timer_start(&timer_, &H2Session::on_timer, deadline > now ? deadline - now : 0, 0);
}

void H2Session::on_timer(uv_timer_t* handle) {
  auto* s = static_cast<H2Session*>(handle->data);
  Loop::CallbackScope scope(s->loop_);
  if (s->closed_) return;
  if (s->client_role() && !s->ready_) {  // connect, TLS or the server's SETTINGS took too long
    s->fail_client("ETIMEDOUT", "HTTP/2 connection timed out");
    s->destroy();
    return;
  }
  if (!s->streams_.empty() || s->idle_since_ == 0) return;
  if (s->going_away_) {
    s->destroy();  // a GOAWAY the peer ignored
    return;
  }
  s->close_gracefully();
  s->idle_since_ = s->loop_.now_ms();
  s->arm_timer();
}

void H2Session::on_link_eof(int error) {
  if (client_role() && !ready_) {
    const int e = error < 0 ? -error : ECONNRESET;
    if (received_any_) fail_client("ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED", "the server did not answer in HTTP/2");
    else fail_client(errno_name(e, "ECONNRESET"), error == 0 ? "the server closed the connection" : std::string("connect failed: ") + std::strerror(e));
  }
  destroy();
}

void H2Session::on_link_failed(const LinkFailure& failure) {
  if (client_role() && !ready_) fail_client(failure.code, failure.message);
  destroy();
}

void H2Session::on_link_pending() {
  if (!closed_) loop_.schedule_resume(this);
}

void H2Session::resume_from_loop() {
  if (closed_) return;
  new_streams_ = 0;
  pause_requested_ = false;
  if (!backlog_.empty()) {
    std::vector<uint8_t> bytes;
    bytes.swap(backlog_);
    receive(bytes.data(), bytes.size());  // may pause again, keeping the rest
    sweep();
    maybe_finish();
    if (closed_ || !backlog_.empty()) return;
    update_wants();
  }
  link_->pump();
}

void H2Session::destroy() {
  if (closed_) return;
  closed_ = true;
  loop_.unmark_dirty(this);
  loop_.unschedule_resume(this);
  out_.clear();
  acks_.clear();
  // Every stream's WebSocket ends (1006 for those still open); their links see a closed session.
  std::vector<H2Stream*> all(streams_.begin(), streams_.end());
  for (H2Stream* st : all) {
    st->closed = true;
    st->in_flight = 0;
    maybe_done_.push_back(st);
    st->pending.clear();
    st->pending_bytes = 0;
    if (st->events != nullptr) deliver_eof(st, -ECONNRESET);
    if (st->close_done != nullptr) {
      auto done = st->close_done;
      st->close_done = nullptr;
      done(st->close_arg);
    }
  }
  if (server_) server_->on_session_gone(*this);
  if (client_ != nullptr && ready_) {
    SessionClientHandler* h = client_;
    client_ = nullptr;
    h->on_session_closed();
  } else if (received_any_) {  // it answered, but not with HTTP/2 SETTINGS (nghttp2 gave up on it)
    fail_client("ERR_SOCKUDO_WS_HTTP2_NOT_NEGOTIATED", "the server did not answer in HTTP/2");
  } else {
    fail_client("ECONNRESET", "the connection ended before the server's HTTP/2 SETTINGS");
  }
  link_->close(&H2Session::on_closed, this);
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), &H2Session::on_timer_closed);
}

void H2Session::on_timer_closed(uv_handle_t* handle) { on_closed(handle->data); }

void H2Session::on_closed(void* arg) {
  auto* s = static_cast<H2Session*>(arg);
  if (--s->handles_open_ > 0) return;
  s->sweep();
  if (s->streams_.empty()) delete s;
  // else: the last stream link's close (release_stream) deletes the session
}

}  // namespace sockudo::transport
