#include "transport/event_loop.h"

#include <algorithm>

#include "transport/listener.h"
#include "transport/socket.h"

namespace sockudo::transport {

Loop::Loop(uv_loop_t* uv, const simd::MaskKernel* kernel, JsScopeHooks* hooks)
    : uv_(uv),
      kernel_(kernel),
      hooks_(hooks),
      receive_(new uint8_t[kReceiveBufferSize + kReceivePadding]),
      mask_keys_(random_) {
  uv_prepare_init(uv_, &prepare_);
  uv_check_init(uv_, &check_);
  prepare_.data = check_.data = this;
  // Neither handle keeps the loop (and so the process) alive on its own.
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
}

Loop::~Loop() = default;

void Loop::mark_dirty(Socket* s) {
  s->in_dirty_list = true;
  if (dirty_.empty()) {
    uv_prepare_start(&prepare_, &Loop::on_prepare);
    uv_check_start(&check_, &Loop::on_check);
  }
  dirty_.push_back(s);
}

void Loop::unmark_dirty(Socket* s) {
  if (!s->in_dirty_list) return;
  s->in_dirty_list = false;
  auto it = std::find(dirty_.begin(), dirty_.end(), s);
  if (it != dirty_.end()) *it = nullptr;
}

void Loop::flush_dirty() {
  CallbackScope scope(*this);  // a flush can report drain or close to JS
  // Sockets marked while flushing (a drain handler that sends) are flushed in the same pass.
  for (size_t i = 0; i < dirty_.size(); i++) {
    Socket* s = dirty_[i];
    if (s == nullptr) continue;
    s->in_dirty_list = false;
    dirty_[i] = nullptr;
    s->flush_from_loop();
  }
  dirty_.clear();
  uv_prepare_stop(&prepare_);
  uv_check_stop(&check_);
}

void Loop::on_prepare(uv_prepare_t* h) { static_cast<Loop*>(h->data)->flush_dirty(); }
void Loop::on_check(uv_check_t* h) { static_cast<Loop*>(h->data)->flush_dirty(); }

void Loop::remove_socket(Socket* s) {
  sockets_.erase(s);
  maybe_done();
}

void Loop::remove_listener(Listener* l) {
  listeners_.erase(l);
  maybe_done();
}

void Loop::maybe_done() {
  if (done_ != nullptr && closing_ == 0 && sockets_.empty() && listeners_.empty()) {
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

void Loop::shutdown(void (*done)(void*), void* arg) {
  std::vector<Socket*> all(sockets_.begin(), sockets_.end());
  for (Socket* s : all) s->destroy();
  std::vector<Listener*> listening(listeners_.begin(), listeners_.end());
  for (Listener* l : listening) l->close();
  dirty_.clear();
  done_ = done;
  done_arg_ = arg;
  closing_ = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), &Loop::on_closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), &Loop::on_closed);
}

}  // namespace sockudo::transport
