#include "transport/h3_stream_link.h"

#include <cerrno>

#include "transport/h3_session.h"

namespace sockudo::transport {

void H3StreamLink::set_events(LinkEvents* events) {
  if (stream_ != nullptr) stream_->events = events;
}

LinkWrite H3StreamLink::write(std::span<const io::Slice> slices) {
  H3Stream* st = stream_;
  if (st == nullptr || st->closed || st->end_requested || st->reset) return {0, false, -EPIPE};
  H3Session* session = st->session;
  // What the peer's MAX_STREAM_DATA still allows beyond what waits here (RFC 9000 §4.1).
  const uint64_t left = ngtcp2_conn_get_max_stream_data_left(session->quic(), st->id);
  size_t room = left > st->pending_bytes ? static_cast<size_t>(left - st->pending_bytes) : 0;
  size_t total = 0, taken = 0;
  for (const io::Slice& s : slices) {
    total += s.len;
    const size_t n = std::min(room, s.len);
    if (n > 0) {
      st->pending.push_back({s.data, n});
      room -= n;
      taken += n;
    }
  }
  if (taken > 0) {
    st->pending_bytes += taken;
    nghttp3_conn_resume_stream(session->h3(), st->id);
    session->mark_dirty();
  }
  const bool blocked = taken < total;
  if (blocked) st->write_blocked = true;
  return {taken, blocked, 0};
}

void H3StreamLink::set_wants(bool read, bool /*write*/) {
  H3Stream* st = stream_;
  if (st == nullptr) return;
  const bool was = st->wants_read;
  st->wants_read = read;
  if (read && !was && (!st->held.empty() || (st->remote_ended && !st->eof_delivered)) && st->events != nullptr)
    st->events->on_link_pending();
}

void H3StreamLink::pump() {
  H3Stream* st = stream_;
  if (st == nullptr || !st->wants_read || st->events == nullptr) return;
  if (!st->held.empty()) {
    std::vector<uint8_t> bytes;
    bytes.swap(st->held);
    H3Session* session = st->session;
    const int64_t id = st->id;
    st->events->on_link_data(bytes.data(), bytes.size());  // may close this link
    session->consumed(id, bytes.size());                     // the peer may send this much again
  }
  if (stream_ != nullptr && stream_->remote_ended && stream_->held.empty() && stream_->events != nullptr &&
      !stream_->eof_delivered) {
    stream_->eof_delivered = true;
    stream_->events->on_link_eof(0);
  }
}

bool H3StreamLink::shutdown_write() {
  H3Stream* st = stream_;
  if (st == nullptr || st->closed || st->reset) return false;
  st->end_requested = true;
  nghttp3_conn_resume_stream(st->session->h3(), st->id);
  st->session->mark_dirty();
  return true;
}

void H3StreamLink::close(void (*done)(void*), void* arg) {
  H3Stream* st = stream_;
  stream_ = nullptr;
  if (st == nullptr) {
    done(arg);
    return;
  }
  // nghttp3 and ngtcp2 refer to unacknowledged bytes in the endpoint's queue until they are
  // acknowledged or the stream is gone.
  const bool wait = st->unacked > 0 && !st->closed;
  if (wait) {
    st->close_done = done;
    st->close_arg = arg;
  }
  st->session->release_stream(st);  // may free the stream and the session
  if (!wait) done(arg);
}

size_t H3StreamLink::buffered() const { return stream_ != nullptr ? stream_->pending_bytes + stream_->unacked : 0; }

bool H3StreamLink::answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) {
  H3Stream* st = stream_;
  if (st == nullptr || st->closed || st->answered) return false;
  std::vector<nghttp3_nv> nv;
  nv.reserve(fields.size());
  for (const auto& f : fields) {
    nv.push_back({reinterpret_cast<const uint8_t*>(f.name.data()), reinterpret_cast<const uint8_t*>(f.value.data()),
                  f.name.size(), f.value.size(), NGHTTP3_NV_FLAG_NONE});
  }
  nghttp3_data_reader reader{read_h3_data};
  const nghttp3_data_reader* dr = &reader;
  if (end) {
    st->refusal = true;
    st->body.assign(body);
    if (body.empty()) dr = nullptr;  // the HEADERS end the stream
  }
  if (nghttp3_conn_submit_response(st->session->h3(), st->id, nv.data(), nv.size(), dr) != 0) return false;
  st->answered = true;
  st->session->mark_dirty();
  return true;
}

}  // namespace sockudo::transport
