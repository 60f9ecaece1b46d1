// The per-environment transport state (one per Node main thread or worker): the libuv loop it
// runs on, the one receive buffer all sockets read into, the masking-key pool, and the list of
// sockets with corked output. Flushing happens once per loop turn: in a check handle (right after
// the poll phase, so all sends made by the turn's I/O callbacks leave together) and in a prepare
// handle (before the loop blocks, catching sends from timers, immediates and promise jobs).
// Sockets whose engine suspended input (its per-turn inflate budget was spent) are resumed once
// per turn in the check handle, before the flush; an idle handle keeps the poll from blocking
// while any wait.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/io/slot_list.h"
#include "core/protocol/deflate_context.h"
#include "core/protocol/mask_key_pool.h"
#include "core/pubsub/topic_tree.h"
#include "core/simd/mask.h"
#include "transport/loop_member.h"
#include "transport/os_random.h"

namespace sockudo::transport {

class Listener;
class UringRing;

// How the binding enters JavaScript from a libuv callback (a handle scope plus a callback scope,
// so promise jobs run when the callback returns). Opened lazily: only callbacks that actually
// call into JS pay for it.
class JsScopeHooks {
 public:
  virtual ~JsScopeHooks() = default;
  virtual void open() = 0;
  virtual void close() = 0;
};

class Loop {
 public:
  static constexpr size_t kReceiveBufferSize = 256 * 1024;
  // Slack after the receive buffer so SIMD code may read a vector past the last byte.
  static constexpr size_t kReceivePadding = 64;

  Loop(uv_loop_t* uv, const simd::MaskKernel* kernel, JsScopeHooks* hooks);
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  uv_loop_t* uv() const { return uv_; }
  uint64_t now_ms() const { return uv_now(uv_); }
  uint8_t* receive_buffer() { return receive_.get(); }
  // TLS: where one decrypted record is delivered from (the receive buffer still holds the
  // ciphertext), and where small writes are gathered into one record. Allocated on first use.
  static constexpr size_t kTlsBufferSize = 16 * 1024;
  static constexpr size_t kTlsWriteBufferSize = 16 * 1024;
  uint8_t* tls_buffer() {
    if (!tls_read_) tls_read_ = std::make_unique<uint8_t[]>(kTlsBufferSize + kReceivePadding);
    return tls_read_.get();
  }
  // TLS records of one write, on their way to the kernel (what it refuses is copied out).
  std::vector<uint8_t>& tls_cipher_scratch() { return tls_cipher_; }
  uint8_t* tls_write_buffer() {
    if (!tls_write_) tls_write_ = std::make_unique<uint8_t[]>(kTlsWriteBufferSize);
    return tls_write_.get();
  }
  // Receives in progress on this loop (their bytes may live in receive_buffer()): bytes fed to a
  // socket meanwhile are held until the turn's resume pass (Endpoint::receive_external).
  int receive_depth = 0;
  protocol::MaskKeyPool& mask_keys() { return mask_keys_; }
  // permessage-deflate streams shared by this loop's connections (shared deflaters, inflater pool).
  protocol::DeflateContext& deflate() { return deflate_; }
  // Pub/sub topics of this loop's server sockets (publish.h fans messages out).
  pubsub::TopicTree& topics() { return topics_; }
  RandomSource& random() { return random_; }
  const simd::MaskKernel* mask_kernel() const { return kernel_; }

  // O(1) each: a member remembers its slot (closing 10,000 dirty sockets in one turn stays linear).
  void mark_dirty(LoopMember* s);
  void unmark_dirty(LoopMember* s);
  void flush_dirty();
  // Calls s->resume_from_loop() on the next turn (once; s stays listed until it is not suspended).
  void schedule_resume(LoopMember* s);
  void unschedule_resume(LoopMember* s);
  // Reads `r` in this turn's check phase (with every other socket that became readable).
  void schedule_read(DeferredReader* r);
  void unschedule_read(DeferredReader* r);

  void add_member(LoopMember* s) { members_.insert(s); }
  void remove_member(LoopMember* s);
  void add_listener(Listener* l) { listeners_.insert(l); }
  void remove_listener(Listener* l);
  bool shutting_down() const { return done_ != nullptr; }
  // The loop's io_uring, created on first use (uring_ring.h); null when this kernel or sandbox
  // has none, with *why (the same reason on every later call).
  UringRing* uring(std::string* why);
  UringRing* uring_if_created() const { return uring_.get(); }
  size_t member_count() const { return members_.size(); }
  // Ends every member (environment teardown). `done` runs once every handle has closed.
  void shutdown(void (*done)(void*), void* arg);

  // Marks a libuv callback: JS is entered lazily (ensure_js) and left when the scope ends.
  class CallbackScope {
   public:
    explicit CallbackScope(Loop& loop) : loop_(loop) { loop_.depth_++; }
    ~CallbackScope() {
      if (--loop_.depth_ == 0 && loop_.js_open_) {
        loop_.js_open_ = false;
        loop_.hooks_->close();
      }
    }

   private:
    Loop& loop_;
  };
  // Called by the binding before it calls into JS from native code.
  void ensure_js() {
    if (depth_ > 0 && !js_open_ && hooks_ != nullptr) {
      js_open_ = true;
      hooks_->open();
    }
  }

 private:
  static void on_prepare(uv_prepare_t* h);
  static void on_check(uv_check_t* h);
  static void on_idle(uv_idle_t* h);
  void run_resumes();
  void run_reads();
  void update_handles();
  static void on_closed(uv_handle_t* h);
  void maybe_done();

  uv_loop_t* uv_;
  const simd::MaskKernel* kernel_;
  JsScopeHooks* hooks_;
  std::unique_ptr<uint8_t[]> receive_;
  std::unique_ptr<uint8_t[]> tls_read_;
  std::unique_ptr<uint8_t[]> tls_write_;
  std::vector<uint8_t> tls_cipher_;
  OsRandom random_;
  protocol::MaskKeyPool mask_keys_;
  protocol::DeflateContext deflate_;  // outlives every socket: the loop ends after all have closed
  pubsub::TopicTree topics_;          // likewise; sockets leave it in destroy()
  io::SlotList<LoopMember> dirty_;
  io::SlotList<LoopMember> resume_;
  io::SlotList<DeferredReader> reads_;
  std::unordered_set<LoopMember*> members_;
  std::unordered_set<Listener*> listeners_;
  uv_prepare_t prepare_;
  uv_check_t check_;
  uv_idle_t idle_;
  bool handles_active_ = false;
  bool idle_active_ = false;
  int depth_ = 0;
  bool js_open_ = false;
  int closing_ = 0;
  void (*done_)(void*) = nullptr;
  void* done_arg_ = nullptr;
  std::unique_ptr<UringRing> uring_;
  bool uring_tried_ = false;
  bool uring_closing_ = false;
  std::string uring_error_;
  static void on_uring_closed(void* arg);
};

}  // namespace sockudo::transport
