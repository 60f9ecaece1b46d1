#include "core/protocol/connection.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>

#include "core/protocol/close_codes.h"

namespace sockudo::protocol {

namespace {
uint64_t add_ms(uint64_t t, uint64_t d) { return d > kNoDeadline - t ? kNoDeadline : t + d; }

ParserConfig parser_config(const ConnectionConfig& c) {
  ParserConfig p;
  p.role = c.role;
  p.rsv1_allowed = c.rsv1_allowed;
  p.max_frame_size = c.max_frame_size;
  p.max_message_size = c.max_message_size;
  p.kernel = c.kernel;
  return p;
}
}  // namespace

Connection::Connection(const ConnectionConfig& config, uint64_t now_ms)
    : config_(config),
      parser_(parser_config(config)),
      assembler_(config.max_message_size, config.transform),
      writer_(config.role, config.kernel ? *config.kernel : simd::scalar_mask_kernel(), config.mask_keys),
      now_ms_(now_ms),
      last_receive_ms_(now_ms) {
  assert(config_error(config) == nullptr);
  // A config that fails the check in a release build gives a connection that is already closed
  // (every send returns NotOpen), rather than one that crashes on first use.
  if (config_error(config) != nullptr) {
    state_ = ConnectionState::Closed;
    close_transport_ = true;
    close_reported_ = true;
  }
}

// --- input ---------------------------------------------------------------------------------------

void Connection::receive(uint8_t* data, size_t len, uint64_t now_ms, EventSink& sink) {
  // §7.1.7 / §5.5.1: after a failure or a close frame nothing more is processed.
  if (state_ == ConnectionState::Closed || len == 0) return;
  now_ms_ = now_ms;
  last_receive_ms_ = now_ms;
  // Any byte proves the peer alive, so a pong queued behind a large message on a slow link does
  // not count as missing.
  ping_outstanding_ = false;
  if (suspended_) {
    // Earlier input is still waiting: these bytes come after it.
    pending_input_.insert(pending_input_.end(), data, data + len);
    return;
  }
  if (config_.transform != nullptr) config_.transform->set_budget(config_.inflate_budget);
  parse(data, len, sink);
}

void Connection::parse(uint8_t* data, size_t len, EventSink& sink) {
  sink_ = &sink;
  size_t consumed = len;
  const ProtocolError e = parser_.feed(data, len, *this, &consumed);
  sink_ = nullptr;
  if (e != ProtocolError::None) {
    fail(e, sink);
  } else if (parser_.state() == FrameParser::State::Suspended) {
    // The transform yielded inside this input: keep what the parser has not reached. `data` may
    // be the old pending_input_ itself (resume), so build the new one apart.
    std::vector<uint8_t> rest(data + consumed, data + len);
    pending_input_.swap(rest);
    suspended_ = true;
  }
  queue_pending_pong();
}

void Connection::resume(uint64_t now_ms, EventSink& sink) {
  if (!suspended_ || state_ == ConnectionState::Closed) return;
  now_ms_ = now_ms;
  if (config_.transform != nullptr) config_.transform->set_budget(config_.inflate_budget);
  sink_ = &sink;
  const ProtocolError e = assembler_.resume(sink);
  sink_ = nullptr;
  if (e == ProtocolError::Yield) return;
  if (e != ProtocolError::None) {
    fail(e, sink);
    return;
  }
  suspended_ = false;
  parser_.resume();
  std::vector<uint8_t> input;
  input.swap(pending_input_);
  if (!input.empty()) parse(input.data(), input.size(), sink);
  queue_pending_pong();
}

void Connection::drop_suspended() {
  suspended_ = false;
  std::vector<uint8_t>().swap(pending_input_);
}

void Connection::set_paused(bool paused, uint64_t now_ms) {
  if (paused == paused_) return;
  paused_ = paused;
  now_ms_ = now_ms;
  if (!paused) {
    // The peer could not be heard while paused: judge it from now on.
    last_receive_ms_ = now_ms;
    ping_outstanding_ = false;
  }
}

ProtocolError Connection::on_data_frame_begin(const FrameHeader& header, bool message_start) {
  return assembler_.begin_frame(header, message_start);
}

ProtocolError Connection::on_data_payload(std::span<const uint8_t> bytes, bool, bool message_end) {
  // §1.4 / §5.5.1: data still arriving after we sent a close frame is delivered; the peer may
  // not have seen our close yet.
  return assembler_.payload(bytes, message_end, *sink_);
}

ProtocolError Connection::on_control_frame(Opcode opcode, std::span<const uint8_t> payload) {
  switch (opcode) {
    case Opcode::Ping:
      // §5.5.2: answer with a pong "as soon as is practical", unless we already sent a close
      // (the close is our last frame). §5.5.3: the pong carries the ping's application data.
      if (config_.auto_pong && state_ == ConnectionState::Open) {
        if (!pongs_) pongs_ = std::make_unique<PongState>();
        if (!payload.empty()) std::memcpy(pongs_->payload, payload.data(), payload.size());
        pongs_->len = static_cast<uint8_t>(payload.size());
        pong_pending_ = true;
        queue_pending_pong();
      }
      sink_->on_ping(payload);
      break;
    case Opcode::Pong:
      // §5.5.3: an unsolicited pong is allowed and needs no answer.
      sink_->on_pong(payload);
      break;
    case Opcode::Close:
      handle_peer_close(payload);
      break;
    default:
      break;
  }
  return ProtocolError::None;
}

void Connection::handle_peer_close(std::span<const uint8_t> payload) {
  const ClosePayload close = parse_close_payload(payload);  // validated by the parser (§5.5.1)
  if (state_ == ConnectionState::Open) {
    // §5.5.1: an endpoint that receives a close and has not sent one MUST send one in response,
    // typically echoing the status code it received (none when the peer's close had none).
    pong_pending_ = false;
    writer_.write_close_unchecked(output_, close.code, config_.echo_close_reason ? close.reason : std::span<const uint8_t>{});
  }
  // §7.1.2: close frames sent and received: the closing handshake is complete.
  state_ = ConnectionState::Closed;
  // §7.1.1: the server closes TCP first; a client waits for that, within close_timeout_ms.
  if (config_.role == Role::Server || config_.close_timeout_ms == 0 || !config_.client_waits_for_server_close)
    close_transport_ = true;
  else
    transport_close_deadline_ = add_ms(now_ms_, config_.close_timeout_ms);
  report_close(close.code, close.reason, *sink_);
}

void Connection::on_eof(uint64_t now_ms, EventSink& sink) {
  now_ms_ = now_ms;
  if (state_ != ConnectionState::Closed) {
    state_ = ConnectionState::Closed;
    parser_.stop();
    pong_pending_ = false;
  }
  drop_suspended();
  close_transport_ = true;
  // §7.1.5: the connection closed without a close frame: code 1006.
  report_close(close_code::kAbnormal, {}, sink);
}

// --- failure and close reporting -----------------------------------------------------------------

void Connection::fail(ProtocolError error, EventSink& sink) {
  if (state_ == ConnectionState::Closed) return;
  if (sends_close_frame(error)) {
    // §7.1.7: "Fail the WebSocket Connection": send a close frame with the reason (§7.4.1: 1002,
    // 1007 or 1009) unless we already sent one, then close without waiting for the peer's.
    if (state_ == ConnectionState::Open) writer_.write_close_unchecked(output_, close_code_for(error), {});
  } else {
    // A liveness failure: the peer is not reading, so nothing queued would ever leave.
    output_.clear();
  }
  state_ = ConnectionState::Closed;
  close_transport_ = true;
  pong_pending_ = false;
  parser_.stop();
  assembler_.reset();
  drop_suspended();
  sink.on_error(error);
  report_close(close_code::kAbnormal, {}, sink);
}

// Kept nowhere: the parser still holds the failing header, and a message whose announced size
// fits the limit can only have grown past it while inflating.
SizeViolation Connection::size_violation(ProtocolError error) const {
  if (error == ProtocolError::FrameTooLarge) return {config_.max_frame_size, parser_.frame_size(), false};
  const uint64_t announced = parser_.announced_message_size();
  if (announced > config_.max_message_size) return {config_.max_message_size, announced, false};
  return {config_.max_message_size, config_.max_message_size + 1, true};
}

void Connection::report_close(uint16_t code, std::span<const uint8_t> reason, EventSink& sink) {
  if (close_reported_) return;
  close_reported_ = true;
  sink.on_close(code, reason);
}

void Connection::terminate(EventSink& sink) {
  output_.clear();
  state_ = ConnectionState::Closed;
  close_transport_ = true;
  pong_pending_ = false;
  parser_.stop();
  assembler_.reset();
  drop_suspended();
  report_close(close_code::kAbnormal, {}, sink);
}

// --- timers --------------------------------------------------------------------------------------

uint64_t Connection::liveness_deadline(ProtocolError* which) const {
  uint64_t deadline = kNoDeadline;
  if (config_.idle_timeout_ms != 0) {
    deadline = add_ms(last_receive_ms_, config_.idle_timeout_ms);
    *which = ProtocolError::IdleTimeout;
  }
  if (ping_outstanding_ && config_.pong_timeout_ms != 0) {
    const uint64_t pong = add_ms(ping_sent_ms_, config_.pong_timeout_ms);
    if (pong < deadline) {
      deadline = pong;
      *which = ProtocolError::PongTimeout;
    }
  }
  return deadline;
}

uint64_t Connection::next_deadline() const {
  switch (state_) {
    case ConnectionState::Open: {
      if (liveness_off()) return kNoDeadline;
      ProtocolError which = ProtocolError::None;
      uint64_t deadline = liveness_deadline(&which);
      if (config_.auto_ping && config_.ping_interval_ms != 0 && !ping_outstanding_) {
        const uint64_t ping = add_ms(last_receive_ms_, config_.ping_interval_ms);
        if (ping < deadline) deadline = ping;
      }
      return deadline;
    }
    case ConnectionState::Closing:
      return add_ms(close_sent_ms_, config_.close_timeout_ms);
    case ConnectionState::Closed:
      return close_transport_ ? kNoDeadline : transport_close_deadline_;
  }
  return kNoDeadline;
}

void Connection::on_timer(uint64_t now_ms, EventSink& sink) {
  now_ms_ = now_ms;
  queue_pending_pong();
  switch (state_) {
    case ConnectionState::Open: {
      if (liveness_off()) return;
      ProtocolError which = ProtocolError::None;
      if (now_ms >= liveness_deadline(&which)) {
        fail(which, sink);
        return;
      }
      // §5.5.2: a ping "may serve either as a keepalive or as a means to verify that the remote
      // endpoint is still responsive". Sent only when the read side has been quiet.
      if (config_.auto_ping && config_.ping_interval_ms != 0 && !ping_outstanding_ &&
          now_ms >= add_ms(last_receive_ms_, config_.ping_interval_ms)) {
        writer_.write_ping(output_, {});
        ping_outstanding_ = true;
        ping_sent_ms_ = now_ms;
      }
      return;
    }
    case ConnectionState::Closing:
      // §7.1.1: our close went unanswered: close the transport anyway; no close frame came (1006).
      if (now_ms >= add_ms(close_sent_ms_, config_.close_timeout_ms)) {
        state_ = ConnectionState::Closed;
        close_transport_ = true;
        parser_.stop();
        report_close(close_code::kAbnormal, {}, sink);
      }
      return;
    case ConnectionState::Closed:
      if (!close_transport_ && now_ms >= transport_close_deadline_) close_transport_ = true;
      return;
  }
}

// --- output --------------------------------------------------------------------------------------

void Connection::queue_pending_pong() {
  if (!pong_pending_) return;
  if (state_ != ConnectionState::Open) {
    pong_pending_ = false;
    return;
  }
  // Every ping gets its pong (Autobahn 2.10/2.11 expect all of them), but a peer that pings
  // without reading must not grow the output queue: at most kMaxUnwrittenPongBytes of automatic
  // pongs may wait unwritten; beyond that, later pings replace the pending payload and are
  // answered once the earlier pongs leave (§5.5.3 allows answering only the most recent ping).
  PongState& p = *pongs_;  // pong_pending_ is only set after it was allocated
  if (p.last_end <= output_.committed_total()) p.unwritten_bytes = 0;
  const uint32_t frame = 2u + p.len;  // a server's pong; a client's adds a 4-byte mask
  if (p.unwritten_bytes + frame > kMaxUnwrittenPongBytes) return;
  const uint64_t before = output_.appended_total();
  writer_.write_pong(output_, {p.payload, p.len});
  p.unwritten_bytes += static_cast<uint32_t>(output_.appended_total() - before);
  p.last_end = output_.appended_total();
  pong_pending_ = false;
}

void Connection::on_output_committed() { queue_pending_pong(); }

SendStatus Connection::send_message(Opcode opcode, std::span<const uint8_t> payload, uint64_t now_ms,
                                    std::unique_ptr<io::BufferOwner> owner, bool compress) {
  // §5.5.1: no data frames after a close frame.
  if (state_ != ConnectionState::Open) return SendStatus::NotOpen;
  if (opcode != Opcode::Text && opcode != Opcode::Binary) return SendStatus::InvalidOpcode;
  now_ms_ = now_ms;
  queue_pending_pong();
  std::span<const uint8_t> encoded;
  if (compress && config_.compressor != nullptr && config_.compressor->encode(payload, encoded)) {
    // RFC 7692 §6: RSV1 on the first frame of a compressed message only. The encoded bytes live
    // in a scratch buffer, so every fragment is copied.
    write_fragments(opcode, true, encoded, nullptr);
    return SendStatus::Ok;
  }
  write_fragments(opcode, false, payload, std::move(owner));
  return SendStatus::Ok;
}

void Connection::write_fragments(Opcode opcode, bool rsv1, std::span<const uint8_t> payload,
                                 std::unique_ptr<io::BufferOwner> owner) {
  // §5.4: a message may be split into fragments. Messages larger than max_frame_size are sent
  // in frames of at most that size, so a peer with the same limits (ours by default: 16 MiB
  // frames, 64 MiB messages) accepts every message its message limit allows.
  const size_t frag = config_.max_frame_size < SIZE_MAX ? static_cast<size_t>(config_.max_frame_size) : SIZE_MAX;
  if (payload.size() <= frag) {
    writer_.write_frame(output_, opcode, true, rsv1, payload, std::move(owner));
    return;
  }
  // A borrowed payload stays borrowed: the real owner rides on the last fragment the writer will
  // borrow (written, and so released, after every earlier one); other fragments get a
  // placeholder. Fragments below the borrow threshold are copied and need no owner.
  // A client copies (masks) every fragment, so nothing is borrowed there: `owner` must then
  // outlive the loop, since every fragment is copied from the memory it keeps alive.
  struct Placeholder final : io::BufferOwner {};
  const size_t tail = payload.size() % frag == 0 ? frag : payload.size() % frag;
  const size_t threshold = writer_.borrow_threshold();
  const bool borrows = owner != nullptr && writer_.role() == Role::Server && (tail >= threshold || frag >= threshold);
  const size_t owner_at = !borrows ? SIZE_MAX
                        : tail >= threshold ? payload.size() - tail          // the last fragment
                                            : payload.size() - tail - frag;  // the one before it
  for (size_t off = 0; off < payload.size();) {
    const size_t n = std::min(frag, payload.size() - off);
    const bool last = off + n == payload.size();
    std::unique_ptr<io::BufferOwner> o;
    if (borrows) o = off == owner_at ? std::move(owner) : std::make_unique<Placeholder>();
    writer_.write_frame(output_, off == 0 ? opcode : Opcode::Continuation, last, rsv1 && off == 0, payload.subspan(off, n),
                        std::move(o));
    off += n;
  }
  // An owner not handed to the queue is released here, after every copy.
}

SendStatus Connection::send_framed(std::span<const uint8_t> frames, std::unique_ptr<io::BufferOwner> owner,
                                   uint64_t now_ms) {
  if (state_ != ConnectionState::Open) return SendStatus::NotOpen;
  if (config_.role != Role::Server) return SendStatus::InvalidOpcode;  // client frames are masked per frame
  now_ms_ = now_ms;
  queue_pending_pong();
  if (owner != nullptr && frames.size() >= writer_.borrow_threshold()) {
    output_.append_borrowed(frames.data(), frames.size(), std::move(owner));
  } else {
    output_.append_copy(frames.data(), frames.size());
  }
  return SendStatus::Ok;
}

SendStatus Connection::send_ping(std::span<const uint8_t> payload, uint64_t now_ms) {
  if (state_ != ConnectionState::Open) return SendStatus::NotOpen;
  now_ms_ = now_ms;
  return writer_.write_ping(output_, payload);
}

SendStatus Connection::send_pong(std::span<const uint8_t> payload, uint64_t now_ms) {
  if (state_ != ConnectionState::Open) return SendStatus::NotOpen;
  now_ms_ = now_ms;
  return writer_.write_pong(output_, payload);
}

SendStatus Connection::close(uint16_t code, std::span<const uint8_t> reason, uint64_t now_ms) {
  if (state_ != ConnectionState::Open) return SendStatus::NotOpen;
  if (SendStatus s = writer_.write_close(output_, code, reason); s != SendStatus::Ok) return s;
  // §7.1.2: we started the closing handshake; wait for the peer's close up to close_timeout_ms.
  state_ = ConnectionState::Closing;
  close_sent_ms_ = now_ms;
  now_ms_ = now_ms;
  pong_pending_ = false;
  ping_outstanding_ = false;
  return SendStatus::Ok;
}

}  // namespace sockudo::protocol
