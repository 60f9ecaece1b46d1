// The hooks for per-message transforms. permessage-deflate (RFC 7692, permessage_deflate.h) plugs
// in here: a received message whose first frame has RSV1 set goes through decode() instead of
// being buffered as is, and an outgoing message may be encoded and sent with RSV1. The engine
// itself knows no compression.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/protocol/errors.h"

namespace sockudo::protocol {

class MessageTransform {
 public:
  virtual ~MessageTransform() = default;
  // Decodes the next piece of a transformed message's payload, appending the output to `out`.
  // `last` on the message's final piece (RFC 7692 §7.2.2: the inflater appends 00 00 ff ff then).
  // The transform must never let out.size() exceed `max_size`: it returns MessageTooLarge
  // instead, so a small compressed message cannot expand without bound. Corrupt input fails with
  // an error the transform adds to ProtocolError (1007 class: the data is not what it claims).
  //
  // A transform may bound its work per turn (set_budget): when the budget is spent with work
  // left, it keeps the rest of `in` (at most one read's worth) and returns ProtocolError::Yield;
  // the caller then calls resume_decode() on a later turn, until it returns anything else.
  virtual ProtocolError decode(std::span<const uint8_t> in, bool last, std::vector<uint8_t>& out,
                               uint64_t max_size) = 0;
  // Continues a decode that returned Yield, with the input it kept (same rules as decode()).
  virtual ProtocolError resume_decode(std::vector<uint8_t>& out, uint64_t max_size) {
    (void)out;
    (void)max_size;
    return ProtocolError::None;
  }
  // Output bytes decode()/resume_decode() may produce from now until the next call of this;
  // 0: no bound. The connection sets it at the start of every receive and resume.
  virtual void set_budget(uint64_t bytes) { (void)bytes; }
  // The message being decoded was abandoned (connection failed); drop per-message state.
  virtual void reset() {}
};

class MessageCompressor {
 public:
  virtual ~MessageCompressor() = default;
  // Encodes one whole outgoing message. Returns false when it should be sent as is (too small to
  // be worth it, or the encoded form is not smaller); otherwise `out` views the encoded payload,
  // valid until the next call, to be sent with RSV1 on its first frame.
  virtual bool encode(std::span<const uint8_t> in, std::span<const uint8_t>& out) = 0;
};

}  // namespace sockudo::protocol
