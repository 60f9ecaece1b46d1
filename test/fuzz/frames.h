// fuzz_frames_server / fuzz_frames_client: the Connection engine (frame parser + message
// assembler + state machine + writer + output queue) under a fuzzer-written script.
//
// Input layout (a short input reads zeros for what is missing):
//   [0] flags       bit0 auto_pong  bit1 auto_ping  bit2 RSV1 allowed, with a test transform
//                   bit3 echo every message from on_message   bit4 close(1000) from on_message
//                   when a message starts with 'C'   bit5 terminate() from on_ping when the ping
//                   starts with 'T'   bit6 sends borrow their payload (BufferOwner)   bit7 on_eof
//                   after the stream
//   [1] max_frame_size    kLimits[b & 15]
//   [2] max_message_size  kLimits[b & 15]
//   [3] kernel            low nibble: run A's mask kernel (index among supported ones);
//                         bits 4-5: client MaskKeyPool block size
//   [4] timing            2 bits each: idle, ping interval, pong timeout, close timeout
//   [5] counts            low nibble: split lengths (0 = byte by byte); high nibble: ops
//   [split lengths]       one byte each: piece length - 1
//   [ops]                 3 bytes each: stream offset (u16 LE, mod stream length + 1), action
//   [stream]              the bytes the peer sends
//
// Actions (low 3 bits type, high 5 bits p), run when the stream reaches their offset:
//   0 timer: advance the clock by kDelays[p & 15] (p & 16: to at least next_deadline()), on_timer
//   1 write: the transport writes p == 0 ? everything : p * 37 bytes; on_output_committed
//   2 send text of kSizes[p & 15] bytes (at most 256 * max_frame_size)   3 send binary, same size
//     (p & 16: with opcode Ping, which must be refused)
//   4 send ping (p odd) / pong of (p >> 1) * 9 bytes (> 125 must be refused)
//   5 close(kCloseCodes[p & 15], reason of 0 / 20 / 124 bytes)   6 on_eof   7 terminate
//
// The script runs twice: run A feeds the stream between ops in one receive() each, with the
// chosen kernel; run B cuts it further at the split lengths, with the scalar kernel. Their event
// traces and wire bytes must be identical. Properties checked in every run: on_close exactly
// once when Closed and never more; nothing after it; on_error only right before on_close;
// delivered text is UTF-8 (reference decoder) and within max_message_size; after on_timer(now),
// next_deadline() > now (no timer busy loop); the queue drains completely, releases every
// borrowed payload and keeps at most kRetainedChunk; the wire bytes, decoded by an independent
// decoder, are well-formed frames for the sender's role (masking, minimal lengths, control
// rules, nothing after our close frame) carrying exactly the messages whose send returned Ok.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/protocol/close_codes.h"
#include "core/protocol/connection.h"
#include "core/protocol/mask_key_pool.h"
#include "core/protocol/message_transform.h"
#include "core/simd/mask.h"
#include "fuzz_common.h"
#include "utf8_reference.h"

namespace fuzz_frames {

using namespace sockudo;
using namespace sockudo::protocol;

inline constexpr uint64_t kLimits[16] = {1, 2, 3, 7, 16, 125, 126, 127, 128, 200, 1000, 65535, 65536, 65537,
                                         1u << 20, kDefaultMaxFrameSize};
inline constexpr uint64_t kDelays[16] = {0, 1, 5, 9, 10, 19, 20, 29, 30, 49, 50, 100, 499, 1000, 5000, 120000};
inline constexpr size_t kSizes[16] = {0, 1, 2, 5, 125, 126, 127, 200, 1000, 4096, 8191, 8192, 8193, 20000, 65535, 65536};
inline constexpr uint16_t kCloseCodes[16] = {1000, 1001, 1002, 1003, 1005, 1007, 1011, 3000,
                                             4999, 1004, 1006, 1012, 1015, 2999, 5000, 0};
inline constexpr uint64_t kIdle[4] = {0, 50, 1000, 120000};
inline constexpr uint64_t kPingInterval[4] = {0, 20, 1000, 30000};
inline constexpr uint64_t kPongTimeout[4] = {0, 10, 500, 10000};
inline constexpr uint64_t kCloseTimeout[4] = {0, 30, 1000, 5000};
inline constexpr size_t kPoolBlock[4] = {4, 8, 64, 4096};

enum Flag : uint8_t {
  kAutoPong = 1, kAutoPing = 2, kRsv1 = 4, kEcho = 8, kCloseFromMessage = 16,
  kTerminateFromPing = 32, kBorrow = 64, kEofAtEnd = 128,
};

struct Op {
  size_t offset;
  uint8_t action;
};

struct Script {
  Role role = Role::Server;
  uint8_t flags = 0;
  uint64_t max_frame = 0, max_message = 0;
  uint8_t kernel_sel = 0;
  uint8_t timing = 0;
  std::vector<uint8_t> split_bytes;
  std::vector<Op> ops;  // sorted by offset
  std::vector<uint8_t> stream;
};

inline Script parse_script(Role role, const uint8_t* data, size_t size) {
  fuzz::Reader r(data, size);
  Script s;
  s.role = role;
  s.flags = r.u8();
  s.max_frame = kLimits[r.u8() & 15];
  s.max_message = kLimits[r.u8() & 15];
  s.kernel_sel = r.u8();
  s.timing = r.u8();
  const uint8_t counts = r.u8();
  for (int i = 0; i < (counts & 15); i++) s.split_bytes.push_back(r.u8());
  std::vector<std::pair<uint16_t, uint8_t>> raw;
  for (int i = 0; i < (counts >> 4); i++) {
    const uint16_t off = r.u16();
    raw.push_back({off, r.u8()});
  }
  const std::string_view rest = r.rest();
  s.stream.assign(rest.begin(), rest.end());
  for (const auto& [off, action] : raw) s.ops.push_back({off % (s.stream.size() + 1), action});
  std::stable_sort(s.ops.begin(), s.ops.end(), [](const Op& a, const Op& b) { return a.offset < b.offset; });
  return s;
}

inline std::vector<const simd::MaskKernel*> supported_kernels() {
  std::vector<const simd::MaskKernel*> out;
  const simd::CpuFeatures cpu = simd::detect_cpu_features();
  for (const simd::MaskKernel& k : simd::mask_kernels())
    if (k.supported(cpu)) out.push_back(&k);
  return out;
}

// RSV1 messages: bytes pass through, except FE (corrupt: fails with InvalidUtf8, the 1007 class
// RFC 7692 decoders use) and FD (expands to 300 'z', to hit the size limit from a small input).
// Like a real inflater it keeps the MessageTransform contract: output stops at max_size, with
// MessageTooLarge when more would follow.
class TestTransform final : public MessageTransform {
 public:
  ProtocolError decode(std::span<const uint8_t> in, bool, std::vector<uint8_t>& out, uint64_t max_size) override {
    for (uint8_t b : in) {
      if (b == 0xFE) return ProtocolError::InvalidUtf8;
      const size_t n = b == 0xFD ? 300 : 1;
      if (out.size() + n > max_size) {
        out.insert(out.end(), static_cast<size_t>(max_size - out.size()), b == 0xFD ? 'z' : b);
        return ProtocolError::MessageTooLarge;
      }
      out.insert(out.end(), n, b == 0xFD ? 'z' : b);
    }
    return ProtocolError::None;
  }
};

// A borrowed payload: the engine must keep it until written, and release it exactly once.
struct TrackedOwner final : io::BufferOwner {
  TrackedOwner(std::vector<uint8_t> bytes, int& live) : data(std::move(bytes)), live(live) { live++; }
  ~TrackedOwner() override { live--; }
  std::vector<uint8_t> data;
  int& live;
};

struct SentMessage {
  Opcode op;
  std::vector<uint8_t> data;
};

// Payloads for sends, built once per size (the fuzzer runs thousands of scripts a second).
inline std::vector<uint8_t> make_text(size_t n) {
  static const char* const pieces[] = {"a", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "C"};
  std::vector<uint8_t> out;
  out.reserve(n);
  for (size_t i = 0; out.size() < n; i++) {
    const char* p = pieces[i % 5];
    const size_t len = std::char_traits<char>::length(p);
    if (out.size() + len > n) {
      out.push_back('a');
      continue;
    }
    out.insert(out.end(), p, p + len);
  }
  return out;
}

inline const std::vector<uint8_t>& text_payload(size_t n) {
  static std::map<size_t, std::vector<uint8_t>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, make_text(n)).first;
  return it->second;
}

inline const std::vector<uint8_t>& binary_payload(size_t n) {
  static std::map<size_t, std::vector<uint8_t>> cache;
  auto it = cache.find(n);
  if (it == cache.end()) {
    std::vector<uint8_t> out(n);
    for (size_t i = 0; i < n; i++) out[i] = static_cast<uint8_t>(i * 31 + n);
    it = cache.emplace(n, std::move(out)).first;
  }
  return it->second;
}

// A copy of p[0..n), unmasked with `key` when given (RFC 6455 §5.3, written out byte by byte).
FUZZ_NO_COVERAGE inline std::vector<uint8_t> unmasked(const uint8_t* p, size_t n, const uint8_t* key) {
  std::vector<uint8_t> out(p, p + n);
  if (key)
    for (size_t i = 0; i < n; i++) out[i] ^= key[i & 3];
  return out;
}

class Run final : public EventSink {
 public:
  Run(const Script& s, const simd::MaskKernel* kernel)
      : s_(s), random_(0x5eed0000u + s.kernel_sel), pool_(random_, kPoolBlock[(s.kernel_sel >> 4) & 3]) {
    // Copied from one default config: its default kernel runs cpuid, which is slow in a VM.
    static const ConnectionConfig defaults;
    ConnectionConfig c = defaults;
    c.role = s.role;
    c.max_frame_size = s.max_frame;
    c.max_message_size = s.max_message;
    c.kernel = kernel;
    c.mask_keys = &pool_;
    if (s.flags & kRsv1) {
      c.rsv1_allowed = true;
      c.transform = &transform_;
    }
    c.auto_pong = s.flags & kAutoPong;
    c.auto_ping = s.flags & kAutoPing;
    c.idle_timeout_ms = kIdle[s.timing & 3];
    c.ping_interval_ms = kPingInterval[(s.timing >> 2) & 3];
    c.pong_timeout_ms = kPongTimeout[(s.timing >> 4) & 3];
    c.close_timeout_ms = kCloseTimeout[(s.timing >> 6) & 3];
    FUZZ_CHECK(config_error(c) == nullptr);
    conn_ = std::make_unique<Connection>(c, now_);
  }

  // Plays the script; `split` cuts the stream at the fuzzer's split lengths.
  void play(bool split) {
    fuzz::Reader sr(s_.split_bytes.data(), s_.split_bytes.size());
    fuzz::Splits splits(sr, s_.split_bytes.size());
    size_t pos = 0, opi = 0;
    while (true) {
      while (opi < s_.ops.size() && s_.ops[opi].offset <= pos) do_op(s_.ops[opi++].action);
      const size_t stop = opi < s_.ops.size() ? s_.ops[opi].offset : s_.stream.size();
      if (pos == stop && opi >= s_.ops.size()) break;
      if (split) {
        fuzz::feed_split(s_.stream.data() + pos, stop - pos, splits, [&](uint8_t* p, size_t n) { receive(p, n); });
      } else if (stop > pos) {
        std::vector<uint8_t> chunk(s_.stream.begin() + static_cast<long>(pos), s_.stream.begin() + static_cast<long>(stop));
        receive(chunk.data(), chunk.size());
      }
      pos = stop;
      mark("feed");
    }
    if (s_.flags & kEofAtEnd) {
      conn_->on_eof(now_, *this);
      after_call();
      mark("eof");
    }
    finish();
  }

  const std::string& trace() const { return trace_; }
  const std::vector<uint8_t>& wire() const { return wire_; }

 private:
  // --- EventSink -------------------------------------------------------------------------------
  void event() {
    FUZZ_CHECK_MSG(!closed_, "an event after on_close");
    FUZZ_CHECK_MSG(!expect_close_, "an event between on_error and on_close");
  }
  void on_message(Opcode op, std::span<const uint8_t> data, bool) override {
    event();
    FUZZ_CHECK(op == Opcode::Text || op == Opcode::Binary);
    FUZZ_CHECK(data.size() <= s_.max_message);
    if (op == Opcode::Text)
      FUZZ_CHECK_MSG(fuzz::ReferenceUtf8::valid(data.data(), data.size()), "text message is not UTF-8: " + fuzz::hex(data.data(), data.size()));
    trace_ += op == Opcode::Text ? "text:" : "binary:";
    fuzz::summarize(trace_, data.data(), data.size());
    trace_ += '\n';
    if (s_.flags & kEcho) send(op, std::vector<uint8_t>(data.begin(), data.end()));
    if ((s_.flags & kCloseFromMessage) && !data.empty() && data[0] == 'C') close(1000, 0);
  }
  void on_ping(std::span<const uint8_t> p) override {
    event();
    FUZZ_CHECK(p.size() <= kMaxControlPayload);
    trace_ += "ping:";
    fuzz::summarize(trace_, p.data(), p.size());
    trace_ += '\n';
    if ((s_.flags & kTerminateFromPing) && !p.empty() && p[0] == 'T') terminate();
  }
  void on_pong(std::span<const uint8_t> p) override {
    event();
    FUZZ_CHECK(p.size() <= kMaxControlPayload);
    trace_ += "pong:";
    fuzz::summarize(trace_, p.data(), p.size());
    trace_ += '\n';
  }
  void on_close(uint16_t code, std::span<const uint8_t> reason) override {
    FUZZ_CHECK_MSG(!closed_, "on_close twice");
    closed_ = true;
    expect_close_ = false;
    FUZZ_CHECK(code == close_code::kAbnormal || code == close_code::kNoStatus || is_valid_wire_close_code(code));
    FUZZ_CHECK(reason.size() <= kMaxCloseReason);
    FUZZ_CHECK(fuzz::ReferenceUtf8::valid(reason.data(), reason.size()));
    if (code == close_code::kAbnormal || code == close_code::kNoStatus) FUZZ_CHECK(reason.empty());
    trace_ += "close " + std::to_string(code) + ":";
    fuzz::summarize(trace_, reason.data(), reason.size());
    trace_ += '\n';
  }
  void on_error(ProtocolError e) override {
    event();
    FUZZ_CHECK(e != ProtocolError::None);
    expect_close_ = true;
    if (!sends_close_frame(e)) cleared_ = true;  // liveness failure: unsent output is dropped
    trace_ += std::string("error ") + error_name(e) + "\n";
  }

  // --- calls into the engine -------------------------------------------------------------------
  void receive(uint8_t* p, size_t n) {
    received_ += n;
    conn_->receive(p, n, now_, *this);
    after_call();
  }

  void after_call() {
    FUZZ_CHECK_MSG(!expect_close_, "on_error without on_close");
    FUZZ_CHECK_MSG((conn_->state() == ConnectionState::Closed) == closed_, "Closed state and on_close disagree");
    if (conn_->should_close_transport()) FUZZ_CHECK(conn_->state() == ConnectionState::Closed);
    if (transport_closing_) FUZZ_CHECK_MSG(conn_->should_close_transport(), "should_close_transport went back to false");
    transport_closing_ = conn_->should_close_transport();
    // Linear work: the validator and the assembly buffer never see more than arrived (the test
    // transform expands, so it is excluded).
    if (!(s_.flags & kRsv1)) {
      FUZZ_CHECK(conn_->message_stats().validated_bytes <= received_);
      FUZZ_CHECK(conn_->message_stats().buffered_bytes <= received_);
    }
  }

  void mark(const char* what) {
    trace_ += '[';
    trace_ += what;
    trace_ += " s=" + std::to_string(static_cast<int>(conn_->state())) +
              " t=" + std::to_string(conn_->should_close_transport()) +
              " d=" + std::to_string(conn_->next_deadline()) + " q=" + std::to_string(conn_->output().bytes()) + "]\n";
  }

  void send(Opcode op, std::vector<uint8_t> payload) {
    std::unique_ptr<io::BufferOwner> owner;
    std::span<const uint8_t> view(payload);
    if (s_.flags & kBorrow) {
      auto o = std::make_unique<TrackedOwner>(std::move(payload), live_owners_);
      view = o->data;
      owner = std::move(o);
    }
    const std::vector<uint8_t> copy(view.begin(), view.end());
    const SendStatus st = conn_->send_message(op, view, now_, std::move(owner));
    if (st == SendStatus::Ok) sent_.push_back({op, copy});
    if (op != Opcode::Text && op != Opcode::Binary) FUZZ_CHECK(st == SendStatus::InvalidOpcode || st == SendStatus::NotOpen);
    trace_ += "send " + std::to_string(copy.size()) + " -> " + send_status_name(st) + "\n";
  }

  void close(uint16_t code, size_t reason_len) {
    const std::vector<uint8_t>& reason = text_payload(reason_len);
    const SendStatus st = conn_->close(code, reason, now_);
    const bool allowed = code == close_code::kNoStatus ? reason.empty() : is_valid_local_close_code(code);
    if (conn_->state() != ConnectionState::Closed && st != SendStatus::NotOpen)
      FUZZ_CHECK_MSG((st == SendStatus::Ok) == (allowed && reason_len <= kMaxCloseReason),
                     "close(" + std::to_string(code) + ", " + std::to_string(reason_len) + " bytes) -> " + send_status_name(st));
    trace_ += "close(" + std::to_string(code) + ") -> " + send_status_name(st) + "\n";
  }

  void terminate() {
    cleared_ = true;
    conn_->terminate(*this);
  }

  void write(size_t max) {
    io::OutputQueue& q = conn_->output();
    io::Slice slices[4];
    size_t budget = max;
    while (budget > 0 && !q.empty()) {
      const size_t n = q.gather(slices, 4);
      FUZZ_CHECK(n > 0);
      size_t took = 0;
      for (size_t i = 0; i < n && took < budget; i++) {
        FUZZ_CHECK(slices[i].len > 0);
        const size_t k = std::min(slices[i].len, budget - took);
        wire_.insert(wire_.end(), slices[i].data, slices[i].data + k);
        took += k;
        if (k < slices[i].len) break;
      }
      q.commit(took);
      budget -= took;
    }
    conn_->on_output_committed();
  }

  void timer(uint64_t advance, bool to_deadline) {
    now_ += advance;
    if (to_deadline) {
      const uint64_t d = conn_->next_deadline();
      if (d != kNoDeadline && d > now_) now_ = d;
    }
    conn_->on_timer(now_, *this);
    after_call();
    FUZZ_CHECK_MSG(conn_->next_deadline() > now_, "on_timer(" + std::to_string(now_) + ") left next_deadline() = " +
                                                      std::to_string(conn_->next_deadline()));
  }

  // kSizes[p & 15], but at most 256 fragments of max_frame_size: a 64 KiB send in 1-byte frames
  // is a fine case, and one that costs a thousand ordinary scripts.
  size_t send_size(uint8_t p) const {
    const uint64_t cap = s_.max_frame * 256;
    return static_cast<size_t>(std::min<uint64_t>(kSizes[p & 15], cap));
  }

  void do_op(uint8_t action) {
    const uint8_t p = action >> 3;
    switch (action & 7) {
      case 0: timer(kDelays[p & 15], p & 16); break;
      case 1: write(p == 0 ? SIZE_MAX : p * size_t{37}); break;
      case 2: send(Opcode::Text, text_payload(send_size(p))); break;
      case 3: send(p & 16 ? Opcode::Ping : Opcode::Binary, binary_payload(send_size(p))); break;
      case 4: {
        const std::vector<uint8_t>& payload = binary_payload((p >> 1) * size_t{9});
        const SendStatus st = p & 1 ? conn_->send_ping(payload, now_) : conn_->send_pong(payload, now_);
        if (payload.size() > kMaxControlPayload) FUZZ_CHECK(st != SendStatus::Ok);
        trace_ += std::string(p & 1 ? "ping" : "pong") + " -> " + send_status_name(st) + "\n";
        break;
      }
      case 5: close(kCloseCodes[p & 15], (p & 16) ? (p & 1 ? 124 : 20) : 0); break;
      case 6: conn_->on_eof(now_, *this); break;
      case 7: terminate(); break;
    }
    after_call();
    mark("op");
  }

  void finish() {
    // The transport writes everything; answers deferred behind unwritten output follow.
    for (int rounds = 0; !conn_->output().empty(); rounds++) {
      FUZZ_CHECK(rounds < 4);
      write(SIZE_MAX);
    }
    const io::OutputQueue& q = conn_->output();
    FUZZ_CHECK(q.empty() && q.bytes() == 0 && q.slice_count() == 0);
    FUZZ_CHECK(q.committed_total() == q.appended_total() || cleared_);
    FUZZ_CHECK_MSG(q.chunk_bytes() <= io::OutputQueue::kRetainedChunk, "a drained queue keeps " + std::to_string(q.chunk_bytes()) + " bytes");
    FUZZ_CHECK_MSG(live_owners_ == 0, "borrowed payloads still held after the queue drained");
    mark("end");
    conn_.reset();
    FUZZ_CHECK(live_owners_ == 0);
    check_wire();
  }

  // An independent decoder of what we wrote (RFC 6455 §5.2): the frames must be well-formed for
  // our role and carry exactly the messages whose send returned Ok.
  void check_wire() {
    const std::vector<uint8_t>& w = wire_;
    const bool masked = s_.role == Role::Client;
    size_t pos = 0, msg_index = 0;
    bool in_message = false, close_seen = false;
    std::vector<uint8_t> message;
    Opcode message_op = Opcode::Binary;
    while (pos < w.size()) {
      FUZZ_CHECK_MSG(!close_seen, "bytes after our close frame");
      if (w.size() - pos < 2) break;
      const uint8_t b0 = w[pos], b1 = w[pos + 1];
      const bool fin = b0 & 0x80;
      const uint8_t op = b0 & 0x0F;
      FUZZ_CHECK_MSG((b0 & 0x70) == 0, "RSV bits on a frame we sent");
      FUZZ_CHECK(is_known_opcode(op));
      FUZZ_CHECK_MSG(((b1 & 0x80) != 0) == masked, "masking does not match the role");
      uint64_t len = b1 & 0x7F;
      size_t h = 2;
      if (len == 126 || len == 127) {
        const size_t ext = len == 126 ? 2 : 8;
        if (w.size() - pos < h + ext) break;
        len = 0;
        for (size_t i = 0; i < ext; i++) len = len << 8 | w[pos + h + i];
        FUZZ_CHECK_MSG(ext == 2 ? len >= 126 : len > 0xFFFF, "non-minimal length");
        h += ext;
      }
      uint8_t key[4] = {};
      if (masked) {
        if (w.size() - pos < h + 4) break;
        std::memcpy(key, &w[pos + h], 4);
        h += 4;
      }
      if (w.size() - pos - h < len) break;
      std::vector<uint8_t> payload = unmasked(w.data() + pos + h, len, masked ? key : nullptr);
      pos += h + len;
      if (is_control(static_cast<Opcode>(op))) {
        FUZZ_CHECK(fin && len <= kMaxControlPayload);
        if (static_cast<Opcode>(op) == Opcode::Close) {
          FUZZ_CHECK(validate_close_payload(payload) == ProtocolError::None);
          close_seen = true;
        }
        continue;
      }
      if (static_cast<Opcode>(op) == Opcode::Continuation) {
        FUZZ_CHECK_MSG(in_message, "continuation without a message");
      } else {
        FUZZ_CHECK_MSG(!in_message, "new message inside a fragmented one");
        message_op = static_cast<Opcode>(op);
        message.clear();
      }
      FUZZ_CHECK_MSG(len <= s_.max_frame, "a frame above max_frame_size");
      message.insert(message.end(), payload.begin(), payload.end());
      in_message = !fin;
      if (fin) {
        FUZZ_CHECK_MSG(msg_index < sent_.size(), "a message on the wire that was never sent");
        FUZZ_CHECK(sent_[msg_index].op == message_op);
        FUZZ_CHECK_MSG(sent_[msg_index].data == message, "message " + std::to_string(msg_index) + " differs on the wire");
        msg_index++;
      }
    }
    if (!cleared_) {
      FUZZ_CHECK_MSG(pos == w.size(), "a truncated frame on the wire");
      FUZZ_CHECK(!in_message);
      FUZZ_CHECK_MSG(msg_index == sent_.size(), "a sent message is missing from the wire");
    }
  }

  const Script& s_;
  fuzz::XorshiftRandom random_;
  MaskKeyPool pool_;
  TestTransform transform_;
  std::unique_ptr<Connection> conn_;
  uint64_t now_ = 1000;
  uint64_t received_ = 0;
  std::string trace_;
  std::vector<uint8_t> wire_;
  std::vector<SentMessage> sent_;
  int live_owners_ = 0;
  bool closed_ = false;
  bool expect_close_ = false;
  bool cleared_ = false;
  bool transport_closing_ = false;
};

inline int fuzz_one(Role role, const uint8_t* data, size_t size) {
  const Script s = parse_script(role, data, size);
  static const std::vector<const simd::MaskKernel*> kernels = supported_kernels();
  Run a(s, kernels[(s.kernel_sel & 15) % kernels.size()]);
  a.play(false);
  Run b(s, &simd::scalar_mask_kernel());
  b.play(true);
  if (a.trace() != b.trace())
    fuzz::fail(__FILE__, __LINE__, "whole and split runs disagree\n--- whole ---\n" + a.trace() + "--- split ---\n" + b.trace());
  FUZZ_CHECK_MSG(a.wire() == b.wire(), "whole and split runs wrote different bytes");
  return 0;
}

}  // namespace fuzz_frames
