#include "core/protocol/deflate_codec.h"

#include <zlib-ng.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace sockudo::protocol {

namespace {

// Inflate output growth (RawInflater::run): doubling up to kDirectReserve, then the whole limit
// (up to kMaxDirectReserve) at once.
constexpr uint64_t kDirectReserve = 1024 * 1024;
constexpr uint64_t kMaxDirectReserve = 256ull * 1024 * 1024;

// RFC 7692 §7.2.1 / §7.2.2: the empty stored block a sync flush ends with.
constexpr uint8_t kTail[4] = {0x00, 0x00, 0xff, 0xff};

// zlib-ng's zfree gives no size, so each block carries it in front (16 bytes keep the
// alignment malloc promised; zlib-ng aligns its buffers inside the block itself).
constexpr size_t kHeader = 16;

void* counted_alloc(void* opaque, unsigned items, unsigned size) {
  const size_t n = static_cast<size_t>(items) * size;
  auto* p = static_cast<uint8_t*>(std::malloc(n + kHeader));
  if (p == nullptr) return nullptr;
  std::memcpy(p, &n, sizeof n);
  static_cast<DeflateMemory*>(opaque)->bytes += n;
  return p + kHeader;
}

void counted_free(void* opaque, void* address) {
  if (address == nullptr) return;
  auto* p = static_cast<uint8_t*>(address) - kHeader;
  size_t n;
  std::memcpy(&n, p, sizeof n);
  static_cast<DeflateMemory*>(opaque)->bytes -= n;
  std::free(p);
}

std::unique_ptr<zng_stream> new_stream(DeflateMemory& memory) {
  auto s = std::make_unique<zng_stream>();
  std::memset(s.get(), 0, sizeof(zng_stream));
  s->zalloc = &counted_alloc;
  s->zfree = &counted_free;
  s->opaque = &memory;
  return s;
}

}  // namespace

// --- deflate ---------------------------------------------------------------------------------

RawDeflater::RawDeflater(const DeflaterSettings& settings, DeflateMemory& memory)
    : stream_(new_stream(memory)), settings_(settings), memory_(memory) {
  // zlib cannot run a raw deflater with an 8-bit window; 9 never emits a distance beyond 250
  // bytes, inside the 256-byte window the peer was promised (deflate_params.h).
  const int bits = std::clamp<int>(settings.window_bits, 9, 15);
  ok_ = zng_deflateInit2(stream_.get(), settings.level, Z_DEFLATED, -bits, settings.mem_level, Z_DEFAULT_STRATEGY) == Z_OK;
  if (ok_) memory_.deflaters++;
}

RawDeflater::~RawDeflater() {
  if (!ok_) return;
  zng_deflateEnd(stream_.get());
  memory_.deflaters--;
}

void RawDeflater::reset() {
  if (ok_) zng_deflateReset(stream_.get());
}

bool RawDeflater::compress(std::span<const uint8_t> in, std::vector<uint8_t>& out, bool reset_after) {
  out.clear();
  if (!ok_) return false;
  if (in.empty()) {
    // §7.2.3.6: an empty message is the header byte of an empty stored block (the receiver's
    // 00 00 ff ff completes it). zlib would emit nothing for a sync flush right after another.
    out.push_back(0x00);
    return true;
  }
  zng_stream* s = stream_.get();
  s->next_in = in.data();
  s->avail_in = 0;
  size_t remaining = in.size();
  // Most messages shrink: start at half the input (plus room for the flush), grow as needed.
  size_t cap = std::max<size_t>(64, in.size() / 2 + 64);
  for (;;) {
    if (s->avail_in == 0 && remaining > 0) {
      const uint32_t n = static_cast<uint32_t>(std::min<size_t>(remaining, UINT32_MAX));
      s->avail_in = n;
      remaining -= n;
    }
    if (out.size() == out.capacity() || out.size() + 16 > cap) cap = std::max(cap, out.size() * 2 + 64);
    const size_t used = out.size();
    out.resize(cap);
    s->next_out = out.data() + used;
    s->avail_out = static_cast<uint32_t>(std::min<size_t>(cap - used, UINT32_MAX));
    const int r = zng_deflate(s, remaining > 0 ? Z_NO_FLUSH : Z_SYNC_FLUSH);
    out.resize(cap - s->avail_out);
    if (r != Z_OK && r != Z_BUF_ERROR) {
      zng_deflateReset(s);
      out.clear();
      return false;
    }
    // The flush is complete when deflate stopped with output space to spare.
    if (remaining == 0 && s->avail_in == 0 && s->avail_out > 0) break;
  }
  // §7.2.1: remove the 4 octets 0x00 0x00 0xff 0xff at the tail end.
  if (out.size() < 4 || std::memcmp(out.data() + out.size() - 4, kTail, 4) != 0) {
    zng_deflateReset(s);
    out.clear();
    return false;
  }
  out.resize(out.size() - 4);
  if (reset_after) zng_deflateReset(s);
  return true;
}

// --- inflate ---------------------------------------------------------------------------------

RawInflater::RawInflater(DeflateMemory& memory) : stream_(new_stream(memory)), memory_(memory) {
  // A 15-bit window decodes any window the peer may use (8..15); zlib-ng allocates 32 KiB anyway.
  ok_ = zng_inflateInit2(stream_.get(), -15) == Z_OK;
  if (ok_) memory_.inflaters++;
}

RawInflater::~RawInflater() {
  if (!ok_) return;
  zng_inflateEnd(stream_.get());
  memory_.inflaters--;
}

ProtocolError RawInflater::decode(std::span<const uint8_t> in, bool last, std::vector<uint8_t>& out, uint64_t max_size,
                                  uint64_t* budget) {
  if (!ok_) return ProtocolError::CompressorUnavailable;
  if (failed_) return ProtocolError::InvalidCompressedData;
  if (stream_ended_) return ProtocolError::None;  // §7.2.2 allows a final block; the rest is ignored
  message_bytes_ += in.size();
  // An empty payload is an empty message. zlib emits nothing for a sync flush right after
  // another, so some senders (Python's websockets among them) send an RSV1 frame with no payload
  // for an empty message: decoding it must not feed the tail into the stream.
  if (last && message_bytes_ == 0) return ProtocolError::None;
  zng_stream* s = stream_.get();
  s->next_in = in.data();
  s->avail_in = static_cast<uint32_t>(in.size());  // pieces come from one read: well below 4 GiB
  return run(last, out, max_size, budget);
}

ProtocolError RawInflater::resume(std::vector<uint8_t>& out, uint64_t max_size, uint64_t* budget) {
  if (!suspended_) return ProtocolError::None;
  suspended_ = false;
  zng_stream* s = stream_.get();
  s->next_in = pending_in_.data() + pending_pos_;
  s->avail_in = static_cast<uint32_t>(pending_in_.size() - pending_pos_);
  const ProtocolError e = run(suspended_last_, out, max_size, budget);
  if (e != ProtocolError::Yield) {
    std::vector<uint8_t>().swap(pending_in_);
    pending_pos_ = 0;
  }
  return e;
}

ProtocolError RawInflater::run(bool last, std::vector<uint8_t>& out, uint64_t max_size, uint64_t* budget) {
  zng_stream* s = stream_.get();
  // One byte of room past the limit tells "exactly max_size" from "more".
  const uint64_t limit = max_size + 1;
  bool out_was_full = output_pending_;
  output_pending_ = false;
  for (;;) {
    if (s->avail_in == 0 && !out_was_full) {
      if (!last || tail_fed_) break;
      s->next_in = kTail;
      s->avail_in = 4;
      tail_fed_ = true;
    }
    const size_t used = out.size();
    if (used >= limit) {
      failed_ = true;  // the stream stopped mid-message: reset it before any reuse
      return ProtocolError::MessageTooLarge;
    }
    if (budget != nullptr && *budget == 0) {
      // This turn's share is spent: keep what zlib has not read and continue on a later turn.
      // Input from the caller's buffer (or the tail) is copied once; a resume that yields again
      // only remembers how far into pending_in_ it got (a bomb yields every turn: re-copying the
      // rest each time would move its whole compressed payload per turn).
      const auto at = reinterpret_cast<uintptr_t>(s->next_in);
      const auto base = reinterpret_cast<uintptr_t>(pending_in_.data());
      if (!pending_in_.empty() && at >= base && at <= base + pending_in_.size()) {
        pending_pos_ = static_cast<size_t>(at - base);
      } else {
        pending_in_.assign(s->next_in, s->next_in + s->avail_in);
        pending_pos_ = 0;
      }
      suspended_ = true;
      suspended_last_ = last;
      output_pending_ = out_was_full;
      return ProtocolError::Yield;
    }
    // Grow geometrically, but never reserve past the limit. Past kDirectReserve the rest of the
    // limit is reserved at once (address space only: pages are faulted in as inflate writes
    // them), so a big message is never copied by a doubling; the largest such copy (32 MiB for
    // a 64 MiB message) stalled the loop for milliseconds in one turn.
    size_t want = std::max<size_t>(used + 16 * 1024, out.capacity());
    want = static_cast<size_t>(std::min<uint64_t>(want, limit));
    if (budget != nullptr) want = static_cast<size_t>(std::min<uint64_t>(want, used + *budget));
    if (want > out.capacity()) {
      uint64_t cap = std::min<uint64_t>(std::max<uint64_t>(want, 2ull * out.capacity()), limit);
      if (cap > kDirectReserve) cap = std::max<uint64_t>(cap, std::min<uint64_t>(limit, kMaxDirectReserve));
      out.reserve(cap);
    }
    out.resize(want);
    s->next_out = out.data() + used;
    s->avail_out = static_cast<uint32_t>(std::min<size_t>(want - used, UINT32_MAX));
    const uint32_t avail_in_before = s->avail_in;
    const int r = zng_inflate(s, Z_SYNC_FLUSH);
    out.resize(want - s->avail_out);
    out_was_full = s->avail_out == 0;
    if (budget != nullptr) *budget -= std::min<uint64_t>(*budget, out.size() - used);
    const bool progress = s->avail_in != avail_in_before || out.size() != used;
    // Output precedes the point where inflate stopped, so output past the limit came first in the
    // stream: report it whatever inflate said next, and the error is the same for every split.
    if (out.size() > max_size) {
      failed_ = true;
      return ProtocolError::MessageTooLarge;
    }
    if (r == Z_STREAM_END) {
      stream_ended_ = true;
      break;
    }
    if (r == Z_MEM_ERROR) {
      failed_ = true;
      return ProtocolError::CompressorUnavailable;
    }
    if (r != Z_OK && r != Z_BUF_ERROR) {  // Z_DATA_ERROR, Z_NEED_DICT (no dictionaries in §7.2.2)
      failed_ = true;
      return ProtocolError::InvalidCompressedData;
    }
    if (r == Z_BUF_ERROR && !progress && s->avail_in > 0) {  // stuck with input and room: corrupt
      failed_ = true;
      return ProtocolError::InvalidCompressedData;
    }
  }
  if (out.size() > max_size) {
    failed_ = true;
    return ProtocolError::MessageTooLarge;
  }
  // §7.2.2: a sender's payload plus the tail ends exactly after an empty stored block, so the
  // decoder must be between blocks (zlib's data_type bit 128) unless a final block ended the
  // stream. Anything else was cut mid-block, and decoding the next message from that state
  // would turn it into garbage: fail this one instead.
  if (last && tail_fed_ && !stream_ended_ && (s->data_type & 128) == 0) {
    failed_ = true;
    return ProtocolError::InvalidCompressedData;
  }
  return ProtocolError::None;
}

void RawInflater::end_message(bool forget) {
  if (ok_ && (forget || stream_ended_ || failed_)) zng_inflateReset(stream_.get());
  stream_ended_ = false;
  tail_fed_ = false;
  failed_ = false;
  message_bytes_ = 0;
  suspended_ = false;
  output_pending_ = false;
  std::vector<uint8_t>().swap(pending_in_);
  pending_pos_ = 0;
}

}  // namespace sockudo::protocol
