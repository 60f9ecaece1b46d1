#include "core/protocol/permessage_deflate.h"

#include <algorithm>

namespace sockudo::protocol {

namespace {
// A scratch buffer a huge message grew is given back when a small one comes next.
constexpr size_t kSmallMessage = 64 * 1024;
}  // namespace

PerMessageDeflate::PerMessageDeflate(Role role, const DeflateAgreement& agreed, const DeflateSettings& settings,
                                     DeflateContext& context)
    : context_(context), deflater_settings_(settings.deflater), threshold_(settings.threshold) {
  const bool server = role == Role::Server;
  // "server_*" parameters govern the server's compressor, "client_*" the client's (§7.1).
  our_reset_ = server ? agreed.server_no_context_takeover : agreed.client_no_context_takeover;
  peer_reset_ = server ? agreed.client_no_context_takeover : agreed.server_no_context_takeover;
  const uint8_t our_window = server ? agreed.server_max_window_bits : agreed.client_max_window_bits;
  // §7.1.2: never compress with a window larger than the agreed one.
  deflater_settings_.window_bits = std::min(deflater_settings_.window_bits, our_window);
}

PerMessageDeflate::~PerMessageDeflate() { end_message(); }

RawDeflater* PerMessageDeflate::deflater() {
  if (our_reset_) return context_.shared_deflater(deflater_settings_);
  if (!deflater_) {
    deflater_ = std::make_unique<RawDeflater>(deflater_settings_, context_.memory());
    if (!deflater_->ok()) deflater_.reset();
  }
  return deflater_.get();
}

bool PerMessageDeflate::encode(std::span<const uint8_t> in, std::span<const uint8_t>& out) {
  if (in.size() < threshold_) return false;
  RawDeflater* d = deflater();
  if (d == nullptr) return false;  // no memory for a deflater: sending uncompressed is always allowed
  if (in.size() < kSmallMessage) context_.trim_scratch();
  std::vector<uint8_t>& buf = context_.scratch();
  context_.count_compression();
  if (!d->compress(in, buf, our_reset_)) return false;
  if (buf.size() >= in.size()) {
    // Sent as is, this message never reaches the peer's inflater window; with context takeover our
    // window must forget it too, or a later message could refer to bytes the peer never had.
    if (!our_reset_) d->reset();
    return false;
  }
  out = {buf.data(), buf.size()};
  return true;
}

ProtocolError PerMessageDeflate::decode(std::span<const uint8_t> in, bool last, std::vector<uint8_t>& out,
                                        uint64_t max_size) {
  if (!inflater_) {
    if (peer_reset_) {
      inflater_ = context_.acquire_inflater();
    } else {
      inflater_ = std::make_unique<RawInflater>(context_.memory());
      if (!inflater_->ok()) inflater_.reset();
    }
    if (!inflater_) return ProtocolError::CompressorUnavailable;
  }
  last_ = last;
  const ProtocolError e = inflater_->decode(in, last, out, max_size, bounded_ ? &budget_ : nullptr);
  if (e == ProtocolError::Yield) return e;  // the inflater (and its window) wait for resume_decode()
  if (last || e != ProtocolError::None) end_message();
  return e;
}

ProtocolError PerMessageDeflate::resume_decode(std::vector<uint8_t>& out, uint64_t max_size) {
  if (!inflater_ || !inflater_->suspended()) return ProtocolError::None;
  const ProtocolError e = inflater_->resume(out, max_size, bounded_ ? &budget_ : nullptr);
  if (e == ProtocolError::Yield) return e;
  if (last_ || e != ProtocolError::None) end_message();
  return e;
}

void PerMessageDeflate::reset() { end_message(); }

void PerMessageDeflate::end_message() {
  if (!inflater_) return;
  if (peer_reset_) {
    context_.release_inflater(std::move(inflater_));
  } else {
    inflater_->end_message(false);
  }
}

}  // namespace sockudo::protocol
