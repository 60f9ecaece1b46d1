// What a Loop drives besides listeners: a WebSocket endpoint (endpoint.h) or a protocol session
// that carries several (an HTTP/2 connection, h2_session.h). The loop flushes members marked
// dirty once per turn (an endpoint's corked output; a session's frames after its streams wrote),
// resumes suspended input, and ends every member at environment teardown.
#pragma once

#include "core/io/slot_list.h"

namespace sockudo::transport {

class LoopMember {
 public:
  virtual ~LoopMember() = default;
  virtual void flush_from_loop() = 0;
  virtual void resume_from_loop() {}
  // Ends the member at once whatever its state (teardown); idempotent.
  virtual void destroy() = 0;
  io::ListSlot dirty_slot;   // in the loop's list of members to flush this turn
  io::ListSlot resume_slot;  // in the loop's list of members to resume this turn
};

// A descriptor whose readiness the loop handles after the poll phase, all together: every socket
// that became readable in one turn is read inside one JS callback scope (libuv calls each poll
// callback on its own, and opening a scope per socket cost about a fifth of a small echo).
class DeferredReader {
 public:
  virtual void read_from_loop() = 0;
  io::ListSlot read_slot;  // in the loop's list of descriptors to read this turn

 protected:
  ~DeferredReader() = default;
};

}  // namespace sockudo::transport
