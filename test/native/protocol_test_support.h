// Shared helpers for the protocol tests: a deterministic RandomSource, frame builders, and sinks
// that log events as text so runs at different split points can be compared with ==.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "core/protocol/close_codes.h"
#include "core/protocol/connection.h"
#include "core/protocol/errors.h"
#include "core/protocol/events.h"
#include "core/protocol/frame_header.h"
#include "core/protocol/frame_parser.h"
#include "core/random_source.h"
#include "harness.h"

namespace testsupport {

using namespace sockudo;
using namespace sockudo::protocol;

// Deterministic bytes: a fixed prefix (to reproduce RFC vectors), then an xorshift stream.
class FakeRandom final : public RandomSource {
 public:
  explicit FakeRandom(std::vector<uint8_t> prefix = {}, uint64_t seed = 0x9E3779B97F4A7C15ull)
      : prefix_(std::move(prefix)), state_(seed) {}
  void fill(uint8_t* out, size_t n) override {
    fills++;
    for (size_t i = 0; i < n; i++) {
      if (pos_ < prefix_.size()) {
        out[i] = prefix_[pos_++];
        continue;
      }
      state_ ^= state_ << 13;
      state_ ^= state_ >> 7;
      state_ ^= state_ << 17;
      out[i] = static_cast<uint8_t>(state_ >> 24);
    }
  }
  int fills = 0;

 private:
  std::vector<uint8_t> prefix_;
  size_t pos_ = 0;
  uint64_t state_;
};

inline std::vector<uint8_t> bytes_of(const std::string& s) { return {s.begin(), s.end()}; }

// A frame built independently of encode_frame_header. `key` null: unmasked.
inline std::vector<uint8_t> frame(uint8_t first_byte, const std::vector<uint8_t>& payload,
                                  const uint8_t* key = nullptr) {
  std::vector<uint8_t> f{first_byte};
  const uint8_t m = key ? 0x80 : 0;
  const uint64_t n = payload.size();
  if (n < 126) {
    f.push_back(static_cast<uint8_t>(m | n));
  } else if (n <= 0xFFFF) {
    f.push_back(m | 126);
    f.push_back(static_cast<uint8_t>(n >> 8));
    f.push_back(static_cast<uint8_t>(n));
  } else {
    f.push_back(m | 127);
    for (int i = 7; i >= 0; i--) f.push_back(static_cast<uint8_t>(n >> (8 * i)));
  }
  if (key) f.insert(f.end(), key, key + 4);
  for (size_t i = 0; i < payload.size(); i++) f.push_back(key ? payload[i] ^ key[i & 3] : payload[i]);
  return f;
}
inline const uint8_t kKey[4] = {0x37, 0xfa, 0x21, 0x3d};
// Masked (client → server) frame.
inline std::vector<uint8_t> cframe(uint8_t first_byte, const std::vector<uint8_t>& payload) {
  return frame(first_byte, payload, kKey);
}
inline std::vector<uint8_t> cat(std::initializer_list<std::vector<uint8_t>> parts) {
  std::vector<uint8_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

inline std::string opname(Opcode op) {
  switch (op) {
    case Opcode::Continuation: return "cont";
    case Opcode::Text: return "text";
    case Opcode::Binary: return "binary";
    case Opcode::Close: return "close";
    case Opcode::Ping: return "ping";
    case Opcode::Pong: return "pong";
  }
  return "?";
}

// Frame-level log: a data frame's pieces are joined, so the log is the same for every split.
class FrameLog final : public FrameSink {
 public:
  ProtocolError on_data_frame_begin(const FrameHeader& h, bool message_start) override {
    cur_ = opname(h.op()) + (h.fin ? " fin" : "") + (h.rsv1 ? " rsv1" : "") +
           (message_start ? " start" : "") + " len=" + std::to_string(h.payload_len) + ":";
    payload_.clear();
    return ProtocolError::None;
  }
  ProtocolError on_data_payload(std::span<const uint8_t> b, bool frame_end, bool message_end) override {
    payload_bytes += b.size();
    payload_.insert(payload_.end(), b.begin(), b.end());
    if (frame_end) {
      events.push_back(cur_ + summarize(payload_) + (message_end ? " [end]" : ""));
      payload_.clear();
    }
    return ProtocolError::None;
  }
  ProtocolError on_control_frame(Opcode op, std::span<const uint8_t> p) override {
    events.push_back(opname(op) + ":" + summarize({p.begin(), p.end()}));
    return ProtocolError::None;
  }
  void clear() {
    events.clear();
    payload_.clear();
    payload_bytes = 0;
  }
  // Short payloads in hex; long ones as length + checksum.
  static std::string summarize(const std::vector<uint8_t>& p) {
    if (p.size() <= 32) return harness::to_hex(p);
    uint64_t h = 1469598103934665603ull;
    for (uint8_t c : p) h = (h ^ c) * 1099511628211ull;
    // Appended piece by piece: `"<" + std::to_string(..)` trips GCC 12's false -Wrestrict.
    std::string s = "<";
    s += std::to_string(p.size());
    s += " bytes #";
    s += std::to_string(h);
    s += ">";
    return s;
  }
  std::vector<std::string> events;
  uint64_t payload_bytes = 0;

 private:
  std::string cur_;
  std::vector<uint8_t> payload_;
};

// Connection/assembler-level log.
class EventLog : public EventSink {
 public:
  void on_message(Opcode op, std::span<const uint8_t> d, bool zero_copy) override {
    events.push_back(opname(op) + ":" + FrameLog::summarize({d.begin(), d.end()}));
    zero_copies.push_back(zero_copy);
    last_data = d.data();
  }
  void on_ping(std::span<const uint8_t> p) override {
    events.push_back("ping:" + FrameLog::summarize({p.begin(), p.end()}));
  }
  void on_pong(std::span<const uint8_t> p) override {
    events.push_back("pong:" + FrameLog::summarize({p.begin(), p.end()}));
  }
  void on_close(uint16_t code, std::span<const uint8_t> reason) override {
    closes++;
    events.push_back("close " + std::to_string(code) + ":" + std::string(reason.begin(), reason.end()));
  }
  void on_error(ProtocolError e) override { events.push_back(std::string("error ") + error_name(e)); }
  void clear() {
    events.clear();
    zero_copies.clear();
    closes = 0;
    last_data = nullptr;
  }
  std::vector<std::string> events;
  std::vector<bool> zero_copies;
  const uint8_t* last_data = nullptr;
  int closes = 0;
};

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& e : v) s += (s.empty() ? "" : " | ") + e;
  return s;
}

// Everything queued in an OutputQueue, concatenated (does not commit).
inline std::vector<uint8_t> pending_bytes(const io::OutputQueue& q) {
  std::vector<io::Slice> slices(q.slice_count() + 1);
  const size_t n = q.gather(slices.data(), slices.size());
  std::vector<uint8_t> out;
  for (size_t i = 0; i < n; i++) out.insert(out.end(), slices[i].data, slices[i].data + slices[i].len);
  return out;
}
// Takes everything out of the queue as if a writev wrote it all.
inline std::vector<uint8_t> drain(io::OutputQueue& q) {
  std::vector<uint8_t> out = pending_bytes(q);
  q.commit(out.size());
  return out;
}

// Replays a large input in a subset of the splits replay_splits uses (whole, byte by byte, and a
// two-way split at the first `edge` offsets, the last `edge`, and every `stride` in between):
// all splits of a 64 KiB input would be 4 GiB of parsing under sanitizers.
inline void replay_some_splits(const std::vector<uint8_t>& input, const std::function<void()>& reset,
                               const std::function<void(const uint8_t*, size_t)>& feed,
                               const std::function<void(const std::string&)>& check,
                               size_t edge = 24, size_t stride = 4093) {
  harness::replay_splits(input, reset, feed, check, [&](size_t at) {
    return at <= edge || at + edge >= input.size() || at % stride == 0;
  });
}

}  // namespace testsupport
