// What the engine reports to its user. The binding implements EventSink to turn events into JS
// calls (batched); tests implement it to collect events.
//
// Spans are valid only during the call: they point into the caller's receive buffer or the
// engine's own buffers. Copy what must outlive it.
#pragma once

#include <cstdint>
#include <span>

#include "core/protocol/errors.h"
#include "core/protocol/frame_header.h"

namespace sockudo::protocol {

class MessageSink {
 public:
  virtual ~MessageSink() = default;
  // A complete Text or Binary message (text already validated as UTF-8). `zero_copy` when `data`
  // points into the buffer passed to receive() (unmasked in place): the single-frame message
  // arrived whole in that read. Otherwise it points into the assembler's buffer.
  virtual void on_message(Opcode opcode, std::span<const uint8_t> data, bool zero_copy) = 0;
};

class EventSink : public MessageSink {
 public:
  virtual void on_ping(std::span<const uint8_t> payload) = 0;
  virtual void on_pong(std::span<const uint8_t> payload) = 0;
  // Exactly once per connection. `code` is the peer's close code (1005 when its close frame had
  // none) or 1006 when the connection ended without receiving a close frame (protocol error,
  // timeout, transport closed); `reason` is UTF-8.
  virtual void on_close(uint16_t code, std::span<const uint8_t> reason) = 0;
  // Why the connection failed, reported just before on_close(1006, ...).
  virtual void on_error(ProtocolError error) = 0;
};

}  // namespace sockudo::protocol
