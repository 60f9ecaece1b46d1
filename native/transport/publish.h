// Publish-once fan-out: one message to every subscriber of a topic on this loop, framed (and,
// for shared-compressor connections, deflated) once per distinct wire form, then handed to each
// socket's output queue — a copy into its cork chunk when small, a reference to the one shared
// buffer when large. No JavaScript runs per subscriber.
//
// Wire forms: plain frames, or RSV1 frames compressed by the loop's shared deflater (keyed by
// the connection's deflater settings), each fragmented at the connection's max_frame_size. A
// connection whose compressor keeps context (dedicated, context takeover) cannot share bytes with
// anyone: its copy is compressed through its own session, in order with its other messages.
//
// Each subscriber's backpressure is its own: one over maxBackpressure drops this message (or is
// closed, per its server's policy) and nobody else waits for it.
#pragma once

#include <cstddef>
#include <span>
#include <string_view>

#include "core/protocol/frame_header.h"

namespace sockudo::transport {

class Loop;
class Endpoint;

struct PublishResult {
  size_t recipients = 0;  // subscribers the message was queued for
  size_t dropped = 0;     // subscribers over their backpressure limit
};

// `exclude`: a subscriber that does not get this message (the publishing socket itself, or the
// socket a Pusher-style `socket_id` names); null for none.
PublishResult publish(Loop& loop, std::string_view topic, protocol::Opcode opcode, std::span<const uint8_t> payload,
                      bool compress, const Endpoint* exclude);

}  // namespace sockudo::transport
