// Encodes outgoing frames into an OutputQueue.
//
// Server frames are unmasked: a large payload that comes with an owner is borrowed (queued by
// reference, the owner kept until it is written); everything else is copied together with its
// header into one slice. Client frames are masked (RFC 6455 §5.3) with a fresh key from the
// MaskKeyPool, into owned memory: the caller's payload is never modified.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/io/output_queue.h"
#include "core/protocol/errors.h"
#include "core/protocol/frame_header.h"
#include "core/protocol/mask_key_pool.h"
#include "core/protocol/role.h"
#include "core/simd/mask.h"

namespace sockudo::protocol {

// Whether the local program may send close(code, reason): a code is_valid_local_close_code
// accepts, or kNoStatus (1005) meaning "a close frame without a body", in which case the reason
// must be empty; the reason is at most 123 bytes of UTF-8 (§5.5.1).
SendStatus validate_local_close(uint16_t code, std::span<const uint8_t> reason);

// A server's (unmasked) frames for one whole message, fragmented at max_frame bytes of payload,
// RSV1 on the first frame only (RFC 7692 §6.1): bytes a publish hands to many connections.
void encode_server_message(std::vector<uint8_t>& out, Opcode opcode, bool rsv1, std::span<const uint8_t> payload,
                           size_t max_frame);

class FrameWriter {
 public:
  // Payloads below this are copied even when they could be borrowed: holding a reference to a JS
  // Buffer costs more than copying a few KiB into a chunk already in cache. Tune by benchmark.
  static constexpr size_t kDefaultBorrowThreshold = 8 * 1024;

  // `mask_keys` is required for Role::Client and unused for Role::Server.
  FrameWriter(Role role, const simd::MaskKernel& kernel, MaskKeyPool* mask_keys,
              size_t borrow_threshold = kDefaultBorrowThreshold);

  // Appends one frame. `owner` keeps `payload` alive if it is borrowed; it is released at once
  // when the payload is copied instead.
  void write_frame(io::OutputQueue& out, Opcode opcode, bool fin, bool rsv1,
                   std::span<const uint8_t> payload, std::unique_ptr<io::BufferOwner> owner = nullptr);

  // A close frame from the local program, validated with validate_local_close.
  SendStatus write_close(io::OutputQueue& out, uint16_t code, std::span<const uint8_t> reason);
  // A close frame the engine itself sends (echoing a peer's code, or failing with 1002/1007/1009):
  // any code valid on the wire, or kNoStatus for an empty body. Not validated.
  void write_close_unchecked(io::OutputQueue& out, uint16_t code, std::span<const uint8_t> reason);
  // Ping and pong payloads are at most 125 bytes (§5.5).
  SendStatus write_ping(io::OutputQueue& out, std::span<const uint8_t> payload);
  SendStatus write_pong(io::OutputQueue& out, std::span<const uint8_t> payload);

  Role role() const { return role_; }
  // Server payloads at least this long (with an owner) are borrowed rather than copied.
  size_t borrow_threshold() const { return borrow_threshold_; }

 private:
  Role role_;
  const simd::MaskKernel* kernel_;
  MaskKeyPool* mask_keys_;
  size_t borrow_threshold_;
};

}  // namespace sockudo::protocol
