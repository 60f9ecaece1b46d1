#include "transport/event_loop.h"

#include <algorithm>

#include "transport/listener.h"
#include "transport/uring_ring.h"

namespace sockudo::transport {

Loop::Loop(uv_loop_t* uv, const simd::MaskKernel* kernel, JsScopeHooks* hooks)
    : uv_(uv),
      kernel_(kernel),
      hooks_(hooks),
      receive_(new uint8_t[kReceiveBufferSize + kReceivePadding]),
      mask_keys_(random_) {
  uv_prepare_init(uv_, &prepare_);
  uv_check_init(uv_, &check_);
  uv_idle_init(uv_, &idle_);
  prepare_.data = check_.data = idle_.data = this;
  // No handle keeps the loop (and so the process) alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&idle_));
}

Loop::~Loop() = default;

void Loop::mark_dirty(LoopMember* s) {
  if (dirty_.add(s, s->dirty_slot)) update_handles();
}

void Loop::unmark_dirty(LoopMember* s) { dirty_.remove(s, s->dirty_slot); }

void Loop::flush_dirty() {
  CallbackScope scope(*this);  // a flush can report drain or close to JS
  // Sockets marked while flushing (a drain handler that sends) are flushed in the same pass.
  dirty_.drain([](LoopMember* s) -> io::ListSlot& { return s->dirty_slot; }, [](LoopMember* s) { s->flush_from_loop(); });
  if (uring_) uring_->submit();  // everything this turn prepared, in one io_uring_enter
  update_handles();
}

UringRing* Loop::uring(std::string* why) {
  if (!uring_tried_) {
    uring_tried_ = true;
    uring_ = UringRing::create(*this, &uring_error_);
  }
  if (!uring_ && why != nullptr) *why = uring_error_;
  return uring_.get();
}

void Loop::schedule_resume(LoopMember* s) {
  if (resume_.add(s, s->resume_slot)) update_handles();
}

void Loop::unschedule_resume(LoopMember* s) { resume_.remove(s, s->resume_slot); }

// One budget's worth of work for each suspended socket (fair: everyone else's I/O ran in the
// poll phase just before). A socket that suspends again is listed again for the next turn.
void Loop::run_resumes() {
  if (resume_.empty()) return;
  CallbackScope scope(*this);
  std::vector<LoopMember*> now = resume_.take();
  for (LoopMember* s : now) {
    if (s == nullptr) continue;
    s->resume_slot.listed = false;
    s->resume_from_loop();
  }
}

void Loop::schedule_read(DeferredReader* r) {
  if (reads_.add(r, r->read_slot)) update_handles();
}

void Loop::unschedule_read(DeferredReader* r) { reads_.remove(r, r->read_slot); }

// Everything that became readable in the poll phase just before (reads are scheduled from poll
// callbacks only, so none is added during the walk).
void Loop::run_reads() {
  reads_.drain([](DeferredReader* r) -> io::ListSlot& { return r->read_slot; }, [](DeferredReader* r) { r->read_from_loop(); });
}

// The prepare and check handles run while anything is dirty, suspended or waiting to be read; the idle handle (which
// makes the poll phase return at once) only while something is suspended.
void Loop::update_handles() {
  if (done_ != nullptr) return;  // shutting down: the handles are closing
  const bool want = !dirty_.empty() || !resume_.empty() || !reads_.empty();
  if (want != handles_active_) {
    handles_active_ = want;
    if (want) {
      uv_prepare_start(&prepare_, &Loop::on_prepare);
      uv_check_start(&check_, &Loop::on_check);
    } else {
      uv_prepare_stop(&prepare_);
      uv_check_stop(&check_);
    }
  }
  const bool idle = !resume_.empty();
  if (idle != idle_active_) {
    idle_active_ = idle;
    if (idle) uv_idle_start(&idle_, &Loop::on_idle);
    else uv_idle_stop(&idle_);
  }
}

void Loop::on_prepare(uv_prepare_t* h) { static_cast<Loop*>(h->data)->flush_dirty(); }
// One callback scope for the whole phase: JS is entered (and its microtasks run) once per turn.
void Loop::on_check(uv_check_t* h) {
  auto* loop = static_cast<Loop*>(h->data);
  CallbackScope scope(*loop);
  loop->run_resumes();
  loop->run_reads();
  loop->flush_dirty();
}
void Loop::on_idle(uv_idle_t*) {}

void Loop::remove_member(LoopMember* s) {
  members_.erase(s);
  maybe_done();
}

void Loop::remove_listener(Listener* l) {
  listeners_.erase(l);
  maybe_done();
}

void Loop::maybe_done() {
  if (done_ != nullptr && closing_ == 0 && members_.empty() && listeners_.empty() && uring_ && !uring_closing_) {
    // Every socket's operations have completed (their links finished closing): the ring can go.
    uring_closing_ = true;
    closing_++;
    uring_->close(&Loop::on_uring_closed, this);
    return;
  }
  if (done_ != nullptr && closing_ == 0 && members_.empty() && listeners_.empty()) {
    auto done = done_;
    done_ = nullptr;
    done(done_arg_);
  }
}

void Loop::on_closed(uv_handle_t* h) {
  auto* loop = static_cast<Loop*>(h->data);
  --loop->closing_;
  loop->maybe_done();
}

void Loop::on_uring_closed(void* arg) {
  auto* loop = static_cast<Loop*>(arg);
  --loop->closing_;
  loop->maybe_done();
}

void Loop::shutdown(void (*done)(void*), void* arg) {
  // Destroying one member may free another listed here: the last stream endpoint of an HTTP/2
  // session that already closed frees that session. Only members still listed are destroyed
  // (nothing joins the loop while it shuts down, so a listed address is a live member).
  std::vector<LoopMember*> all(members_.begin(), members_.end());
  for (LoopMember* s : all)
    if (members_.count(s) != 0) s->destroy();
  std::vector<Listener*> listening(listeners_.begin(), listeners_.end());
  for (Listener* l : listening) l->close();
  dirty_.clear();
  resume_.clear();
  reads_.clear();
  if (uring_) uring_->submit();  // the closing links' cancels: the loop's flush no longer runs
  done_ = done;
  done_arg_ = arg;
  closing_ = 3;
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), &Loop::on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), &Loop::on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&idle_), &Loop::on_closed);
}

}  // namespace sockudo::transport
