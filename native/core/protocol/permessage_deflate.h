// permessage-deflate (RFC 7692) for one connection, once negotiated (deflate_params.h): decodes
// received RSV1 messages and encodes outgoing ones, for either role.
//
// Which streams a connection holds follows from the agreement, not only from the mode:
// - We reset our compressor after every message (server_no_context_takeover for a server,
//   client_no_context_takeover for a client; §7.1.1): a message then never depends on an
//   earlier one, so the loop's shared deflater compresses it and the connection holds no
//   deflate state at all. Shared mode always negotiates this; dedicated mode uses it too when
//   the peer asks for it.
// - Otherwise a dedicated deflater keeps the sliding window (created on the first compressed
//   send).
// - The peer resets its compressor after every message: an inflater is borrowed from the loop's
//   pool for the duration of one message. Otherwise a dedicated inflater keeps the peer's window
//   (created on the first compressed message received).
// So an idle connection in shared mode holds no zlib-ng memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/protocol/deflate_codec.h"
#include "core/protocol/deflate_context.h"
#include "core/protocol/deflate_params.h"
#include "core/protocol/message_transform.h"
#include "core/protocol/role.h"

namespace sockudo::protocol {

// What the local endpoint wants, from its options (negotiation turns it into the agreement).
struct DeflateSettings {
  DeflaterSettings deflater;  // deflater.window_bits: the largest window we compress with
  uint32_t threshold = 0;     // messages shorter than this are sent uncompressed
};

class PerMessageDeflate final : public MessageTransform, public MessageCompressor {
 public:
  PerMessageDeflate(Role role, const DeflateAgreement& agreed, const DeflateSettings& settings, DeflateContext& context);
  ~PerMessageDeflate() override;
  PerMessageDeflate(const PerMessageDeflate&) = delete;
  PerMessageDeflate& operator=(const PerMessageDeflate&) = delete;

  // MessageTransform: a received RSV1 message (§7.2.2).
  ProtocolError decode(std::span<const uint8_t> in, bool last, std::vector<uint8_t>& out, uint64_t max_size) override;
  ProtocolError resume_decode(std::vector<uint8_t>& out, uint64_t max_size) override;
  void set_budget(uint64_t bytes) override { budget_ = bytes; bounded_ = bytes != 0; }
  void reset() override;
  // MessageCompressor: an outgoing message (§7.2.1).
  bool encode(std::span<const uint8_t> in, std::span<const uint8_t>& out) override;

  bool uses_shared_deflater() const { return our_reset_; }
  const DeflaterSettings& deflater_settings() const { return deflater_settings_; }
  uint32_t threshold() const { return threshold_; }
  bool borrows_inflaters() const { return peer_reset_; }
  // Whether this connection currently holds its own zlib-ng streams.
  bool holds_deflater() const { return deflater_ != nullptr; }
  bool holds_inflater() const { return inflater_ != nullptr; }

 private:
  RawDeflater* deflater();
  void end_message();

  DeflateContext& context_;
  DeflaterSettings deflater_settings_;
  uint32_t threshold_;
  bool our_reset_;   // no context takeover for our compressor
  bool peer_reset_;  // no context takeover for the peer's compressor
  std::unique_ptr<RawDeflater> deflater_;  // dedicated, with context takeover
  std::unique_ptr<RawInflater> inflater_;  // dedicated, or borrowed for the current message
  uint64_t budget_ = 0;   // inflate output left this turn (set_budget)
  bool bounded_ = false;  // whether budget_ applies
  bool last_ = false;     // the piece being decoded ends its message
};

}  // namespace sockudo::protocol
