// One WebSocket connection after the opening handshake: the sans-IO protocol engine.
//
// The transport feeds received bytes and the current time in; the engine reports events through
// an EventSink, queues outgoing bytes in output(), and says when it next needs on_timer() and
// when the transport should close. It never blocks, reads a clock or makes a syscall.
//
// Lifecycle: Open → Closing (we sent a close frame) → Closed. Ways to Closed:
//  - the peer's close frame (§5.5.1, §7.1.2): if we had not sent one, a close echoing the peer's
//    code is queued; on_close(peer code, reason);
//  - a protocol violation (§7.1.7 "Fail the WebSocket Connection"): a close frame with 1002, 1007
//    or 1009 is queued, on_error(e), on_close(1006); later input is ignored;
//  - idle or pong timeout: nothing is sent (the peer is presumed gone), the output queue is
//    dropped, on_error(IdleTimeout / PongTimeout), on_close(1006) — what `ws` users see when a
//    dead socket is terminated;
//  - close timeout (our close was not answered in time), on_eof() or terminate(): on_close(1006).
// on_close is reported exactly once.
//
// Transport contract: after receive(), on_timer() and any send, write what output() holds
// (gather → writev → commit), then call on_output_committed(). When should_close_transport()
// becomes true, write what is still queued if the socket takes it, then close. Call on_timer() at
// next_deadline(). receive() must not be called from inside an EventSink callback; every other
// method may be.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/io/output_queue.h"
#include "core/protocol/connection_config.h"
#include "core/protocol/errors.h"
#include "core/protocol/events.h"
#include "core/protocol/frame_parser.h"
#include "core/protocol/frame_writer.h"
#include "core/protocol/message_assembler.h"

namespace sockudo::protocol {

enum class ConnectionState : uint8_t { Open, Closing, Closed };

inline constexpr uint64_t kNoDeadline = UINT64_MAX;

class Connection final : private FrameSink {
 public:
  // `config` must pass config_error() (a release build given one that does not gets a connection
  // that is already Closed). `now_ms` starts the idle and ping clocks.
  Connection(const ConnectionConfig& config, uint64_t now_ms);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Bytes from the peer. Masked payloads are unmasked in place in data[0..len); messages that
  // arrived whole are delivered as spans into it (zero-copy).
  void receive(uint8_t* data, size_t len, uint64_t now_ms, EventSink& sink);
  // Input the engine could not finish this turn (the transform's budget, inflate_budget, is
  // spent): the transport stops reading and calls resume() on a later turn until this is false.
  // Bytes passed to receive() meanwhile are kept after the unparsed rest, in order.
  bool suspended() const { return suspended_; }
  void resume(uint64_t now_ms, EventSink& sink);
  // The application stopped (or restarted) reading: the peer's bytes, pongs included, wait unread,
  // so the idle and pong timeouts cannot judge the peer and are off while paused; at resume the
  // clocks restart from now. (Automatic pings wait too: no answer could be read.)
  void set_paused(bool paused, uint64_t now_ms);
  bool paused() const { return paused_; }
  // The peer closed the transport (EOF / reset).
  void on_eof(uint64_t now_ms, EventSink& sink);
  // Runs whatever deadlines have passed: automatic ping, pong / idle / close timeouts.
  void on_timer(uint64_t now_ms, EventSink& sink);
  // Earliest time on_timer() has something to do; kNoDeadline when nothing is pending.
  uint64_t next_deadline() const;

  // A Text or Binary message as one frame. With an owner, a large payload is borrowed until
  // written (server); otherwise it is copied (client frames are always masked into a copy).
  // With `compress` and a compressor configured, the message may be sent encoded (RSV1).
  SendStatus send_message(Opcode opcode, std::span<const uint8_t> payload, uint64_t now_ms,
                          std::unique_ptr<io::BufferOwner> owner = nullptr, bool compress = false);
  // Frames encoded once for many connections (encode_server_message): queued as they are, after
  // everything sent before, borrowed with `owner` when large, else copied. Server role only.
  SendStatus send_framed(std::span<const uint8_t> frames, std::unique_ptr<io::BufferOwner> owner, uint64_t now_ms);
  SendStatus send_ping(std::span<const uint8_t> payload, uint64_t now_ms);
  SendStatus send_pong(std::span<const uint8_t> payload, uint64_t now_ms);
  // Starts the closing handshake. `code` is a code a local endpoint may send (1000, 1001-1003,
  // 1007-1014, 3000-4999), or 1005 to send a close frame without a body; reason ≤ 123 bytes UTF-8.
  SendStatus close(uint16_t code, std::span<const uint8_t> reason, uint64_t now_ms);
  // Ends the connection at once, without a closing handshake: output is dropped, on_close(1006).
  void terminate(EventSink& sink);

  io::OutputQueue& output() { return output_; }
  const io::OutputQueue& output() const { return output_; }
  // Lets the engine queue an answer it deferred while earlier output was unwritten (§5.5.3).
  void on_output_committed();

  ConnectionState state() const { return state_; }
  bool should_close_transport() const { return close_transport_; }
  const ConnectionConfig& config() const { return config_; }
  const MessageAssembler::Stats& message_stats() const { return assembler_.stats(); }
  // The numbers behind a FrameTooLarge / MessageTooLarge failure (ask in on_error).
  SizeViolation size_violation(ProtocolError error) const;

  // At most this many bytes of automatic pongs wait unwritten (a peer that pings without
  // reading); a burst of small pings in one read, as one QUIC packet carries them, still gets
  // every pong.
  static constexpr uint32_t kMaxUnwrittenPongBytes = 4096;

 private:
  // FrameSink
  ProtocolError on_data_frame_begin(const FrameHeader& header, bool message_start) override;
  ProtocolError on_data_payload(std::span<const uint8_t> bytes, bool frame_end,
                                bool message_end) override;
  ProtocolError on_control_frame(Opcode opcode, std::span<const uint8_t> payload) override;

  void parse(uint8_t* data, size_t len, EventSink& sink);
  void drop_suspended();
  bool liveness_off() const { return paused_ || suspended_; }
  void handle_peer_close(std::span<const uint8_t> payload);
  void fail(ProtocolError error, EventSink& sink);
  void report_close(uint16_t code, std::span<const uint8_t> reason, EventSink& sink);
  void queue_pending_pong();
  void write_fragments(Opcode opcode, bool rsv1, std::span<const uint8_t> payload, std::unique_ptr<io::BufferOwner> owner);
  uint64_t liveness_deadline(ProtocolError* which) const;

  ConnectionConfig config_;
  FrameParser parser_;
  MessageAssembler assembler_;
  FrameWriter writer_;
  io::OutputQueue output_;
  EventSink* sink_ = nullptr;  // the sink of the receive() in progress
  uint64_t now_ms_;            // time of the call in progress
  uint64_t last_receive_ms_;   // when bytes last arrived
  uint64_t ping_sent_ms_ = 0;
  uint64_t close_sent_ms_ = 0;
  uint64_t transport_close_deadline_ = kNoDeadline;
  // Automatic pongs: allocated at the first ping, so a connection that is never pinged (most
  // idle ones) does not carry them.
  struct PongState {
    uint64_t last_end = 0;        // output position just past the last automatic pong
    uint32_t unwritten_bytes = 0; // automatic pong bytes queued since the output last passed last_end
    uint8_t len = 0;
    uint8_t payload[kMaxControlPayload];
  };
  std::unique_ptr<PongState> pongs_;
  ConnectionState state_ = ConnectionState::Open;
  bool ping_outstanding_ = false;  // our automatic ping awaits a sign of life
  bool close_transport_ = false;
  bool close_reported_ = false;
  bool pong_pending_ = false;
  bool suspended_ = false;  // see suspended()
  bool paused_ = false;     // see set_paused()
  std::vector<uint8_t> pending_input_;  // unparsed input while suspended (≤ one read + what came after)
};

}  // namespace sockudo::protocol
