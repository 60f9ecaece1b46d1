#include "transport/external_link.h"

namespace sockudo::transport {

void ExternalLink::set_handler(SocketHandler* handler) {
  handler_ = handler;
  if (handler_ != nullptr && !closed_ && reading_ != want_read_) set_wants(want_read_, false);
}

LinkWrite ExternalLink::write(std::span<const io::Slice> slices) {
  LinkWrite r;
  if (closed_ || blocked_) {
    r.blocked = true;
    return r;
  }
  // The Duplex takes everything (it buffers). A negative answer (-(bytes) - 1) means it asked
  // writers to wait for 'drain': later output waits in the session, where maxBackpressure
  // applies to it, and no JS runs for it until then.
  const double answer = handler_ != nullptr ? handler_->on_external_write(slices) : 0;
  for (const io::Slice& s : slices) r.taken += s.len;
  if (answer < 0) {
    buffered_ = static_cast<size_t>(-answer - 1);
    blocked_ = true;
    r.blocked = true;
  } else {
    buffered_ = static_cast<size_t>(answer);
  }
  return r;
}

// A Duplex cannot be stopped at once: the handler pauses it, and the session holds what still
// arrives (bounded by Endpoint::kMaxHeldInput).
void ExternalLink::set_wants(bool read, bool) {
  want_read_ = read;
  if (closed_ || handler_ == nullptr || read == reading_) return;
  reading_ = read;
  handler_->on_external_flow(read);
}

void ExternalLink::drained() {
  if (closed_) return;
  buffered_ = 0;
  if (!blocked_) return;
  blocked_ = false;
  if (events_ != nullptr) events_->on_link_writable();
}

bool ExternalLink::answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) {
  if (closed_ || handler_ == nullptr || !http2_stream_) return false;
  handler_->on_external_answer(fields, body, end);
  return true;
}

void ExternalLink::close(void (*done)(void*), void* arg) {
  if (closed_) return;
  closed_ = true;
  if (handler_ != nullptr) handler_->on_external_end();
  if (done) done(arg);
}

}  // namespace sockudo::transport
