// Raw DEFLATE streams for permessage-deflate (RFC 7692 §7.2) over zlib-ng's native zng_* API
// (its symbols never clash with the zlib inside Node). Two small classes: a deflater that turns
// one whole message into the payload of a compressed message, and an inflater that decodes one
// message's payload piece by piece into a bounded buffer.
//
// Every allocation zlib-ng makes goes through DeflateMemory, so the bytes each mode costs per
// connection are measured, not estimated. zlib-ng allocates one block per stream: a deflater is
// window (2^w × 2) + chains (2^w × 2) + a fixed 128 KiB hash table + literal buffers
// (2^(memLevel+6) × 5): 336 KiB at w=15, memLevel 8, and never less than about 130 KiB. An
// inflater always allocates a 32 KiB window plus about 7 KiB of state, whatever the window bits.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/protocol/errors.h"

struct zng_stream_s;

namespace sockudo::protocol {

// Live zlib-ng memory of one owner (an event loop): what the compression modes cost.
struct DeflateMemory {
  uint64_t bytes = 0;      // allocated by zlib-ng and not yet freed
  uint32_t deflaters = 0;  // live deflate streams
  uint32_t inflaters = 0;  // live inflate streams (pooled ones included)
};

struct DeflaterSettings {
  uint8_t window_bits = 15;  // 8..15; 8 runs as 9 (see deflate_params.h for why that is safe)
  uint8_t mem_level = 8;     // 1..9: zlib's memLevel (literal buffer size)
  uint8_t level = 1;         // 0..9: zlib's compression level
};

inline bool operator==(const DeflaterSettings& a, const DeflaterSettings& b) {
  return a.window_bits == b.window_bits && a.mem_level == b.mem_level && a.level == b.level;
}

class RawDeflater {
 public:
  // Check ok(): false when zlib-ng refused the settings or had no memory.
  RawDeflater(const DeflaterSettings& settings, DeflateMemory& memory);
  ~RawDeflater();
  RawDeflater(const RawDeflater&) = delete;
  RawDeflater& operator=(const RawDeflater&) = delete;

  bool ok() const { return ok_; }
  const DeflaterSettings& settings() const { return settings_; }

  // Compresses one whole message into `out` (replacing its contents): the deflate stream flushed
  // to a byte boundary with Z_SYNC_FLUSH, its trailing 00 00 ff ff removed (§7.2.1). With
  // `reset_after` the stream forgets this message (no context takeover, §7.1.1). False only on
  // an internal zlib-ng failure, after which the stream has been reset.
  bool compress(std::span<const uint8_t> in, std::vector<uint8_t>& out, bool reset_after);
  // Forgets every earlier message (the peer's window may still hold them: harmless).
  void reset();

 private:
  std::unique_ptr<zng_stream_s> stream_;
  DeflaterSettings settings_;
  DeflateMemory& memory_;
  bool ok_ = false;
};

class RawInflater {
 public:
  explicit RawInflater(DeflateMemory& memory);
  ~RawInflater();
  RawInflater(const RawInflater&) = delete;
  RawInflater& operator=(const RawInflater&) = delete;

  bool ok() const { return ok_; }

  // Decodes the next piece of a message's payload, appending to `out`; `last` on the message's
  // final piece, when the 00 00 ff ff tail is appended (§7.2.2). out.size() never exceeds
  // max_size + 1 and out's capacity never exceeds that either: more output fails with
  // MessageTooLarge at once, so a small bomb cannot make us allocate past the limit. Input after
  // a final (BFINAL) block is ignored. Corrupt input, or a payload that does not end between
  // blocks: InvalidCompressedData. An empty payload decodes to an empty message.
  //
  // `budget` (optional) bounds the output of this call: it is decreased by every byte produced,
  // and when it reaches 0 with work left the inflater keeps the unread input (≤ in.size()) and
  // returns Yield; resume() continues from there. Splitting the work this way gives the same
  // output and the same errors as one unbounded call.
  ProtocolError decode(std::span<const uint8_t> in, bool last, std::vector<uint8_t>& out, uint64_t max_size,
                       uint64_t* budget = nullptr);
  // Continues a decode that returned Yield (same contract).
  ProtocolError resume(std::vector<uint8_t>& out, uint64_t max_size, uint64_t* budget = nullptr);
  bool suspended() const { return suspended_; }
  // Ends the message (also an abandoned one): with `forget` the window is dropped (the peer does
  // not take context over, §7.1.1); an ended or failed stream is always reset.
  void end_message(bool forget);

 private:
  std::unique_ptr<zng_stream_s> stream_;
  DeflateMemory& memory_;
  bool ok_ = false;
  bool stream_ended_ = false;  // a BFINAL block finished the stream
  bool tail_fed_ = false;
  bool failed_ = false;
  uint64_t message_bytes_ = 0;  // compressed bytes of the current message so far
  // A decode that yielded: the input it had not read, whether that piece was the message's last,
  // and whether zlib may still hold output (it stopped with the output buffer full).
  bool suspended_ = false;
  bool suspended_last_ = false;
  bool output_pending_ = false;
  std::vector<uint8_t> pending_in_;
  size_t pending_pos_ = 0;  // where zlib stopped reading pending_in_

  ProtocolError run(bool last, std::vector<uint8_t>& out, uint64_t max_size, uint64_t* budget);
};

}  // namespace sockudo::protocol
