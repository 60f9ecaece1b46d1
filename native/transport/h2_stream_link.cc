#include "transport/h2_stream_link.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cerrno>

#include "transport/h2_session.h"

namespace sockudo::transport {

// A WebSocket's DATA: borrowed from the endpoint's queue (h2_session.cc frames it).
nghttp2_ssize H2StreamLink::read_websocket(nghttp2_session*, int32_t, uint8_t*, size_t length, uint32_t* flags,
                                           nghttp2_data_source* source, void*) {
  auto* st = static_cast<H2Stream*>(source->ptr);
  if (st->pending_bytes == 0) {
    if (!st->end_requested) return NGHTTP2_ERR_DEFERRED;  // resumed by the next write()
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->end_sent = true;
    return 0;
  }
  const size_t n = std::min(length, st->pending_bytes);
  *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
  if (st->end_requested && n == st->pending_bytes) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->end_sent = true;
  }
  return static_cast<nghttp2_ssize>(n);
}

namespace {

// A refusal's body: copied once into the stream (it is small and outlives the endpoint).
nghttp2_ssize read_body(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                        nghttp2_data_source* source, void*) {
  auto* st = static_cast<H2Stream*>(source->ptr);
  const size_t n = std::min(length, st->body.size() - st->body_offset);
  std::copy_n(st->body.data() + st->body_offset, n, buf);
  st->body_offset += n;
  if (st->body_offset == st->body.size()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    st->end_sent = true;
  }
  return static_cast<nghttp2_ssize>(n);
}

}  // namespace

void H2StreamLink::set_events(LinkEvents* events) {
  if (stream_ != nullptr) stream_->events = events;
}

LinkWrite H2StreamLink::write(std::span<const io::Slice> slices) {
  H2Stream* st = stream_;
  if (st == nullptr || st->closed || st->end_requested) return {0, false, -EPIPE};
  nghttp2_session* ng = st->session->ng();
  const int32_t window = nghttp2_session_get_stream_remote_window_size(ng, st->id);
  size_t room = window > 0 && static_cast<size_t>(window) > st->pending_bytes ? static_cast<size_t>(window) - st->pending_bytes : 0;
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
    nghttp2_session_resume_data(ng, st->id);  // no-op unless the provider had deferred
    st->session->mark_dirty();
  }
  const bool blocked = taken < total;
  if (blocked) st->write_blocked = true;
  return {taken, blocked, 0};
}

void H2StreamLink::set_wants(bool read, bool /*write*/) {
  H2Stream* st = stream_;
  if (st == nullptr) return;
  const bool was = st->wants_read;
  st->wants_read = read;
  // Input held while the endpoint did not want it (or an END_STREAM behind it) goes out from the
  // endpoint's next resume pass.
  if (read && !was && (!st->held.empty() || (st->remote_ended && !st->eof_delivered)) && st->events != nullptr)
    st->events->on_link_pending();
}

void H2StreamLink::pump() {
  H2Stream* st = stream_;
  if (st == nullptr || !st->wants_read || st->events == nullptr) return;
  if (!st->held.empty()) {
    std::vector<uint8_t> bytes;
    bytes.swap(st->held);
    H2Session* session = st->session;
    const int32_t id = st->id;
    const bool closed = st->closed;
    st->events->on_link_data(bytes.data(), bytes.size());  // may close this link
    if (!closed && stream_ != nullptr) {
      nghttp2_session_consume(session->ng(), id, bytes.size());  // the peer may send this much again
      session->mark_dirty();
    }
  }
  if (stream_ != nullptr && stream_->remote_ended && stream_->held.empty() && stream_->events != nullptr &&
      !stream_->eof_delivered) {
    stream_->eof_delivered = true;
    stream_->events->on_link_eof(0);
  }
}

bool H2StreamLink::shutdown_write() {
  H2Stream* st = stream_;
  if (st == nullptr || st->closed) return false;
  st->end_requested = true;
  nghttp2_session_resume_data(st->session->ng(), st->id);
  st->session->mark_dirty();
  return true;
}

void H2StreamLink::close(void (*done)(void*), void* arg) {
  H2Stream* st = stream_;
  stream_ = nullptr;
  if (st == nullptr) {
    done(arg);
    return;
  }
  const bool wait = st->in_flight > 0;  // DATA framed from the endpoint's queue is on its way to the link
  if (wait) {
    st->close_done = done;
    st->close_arg = arg;
  }
  st->session->release_stream(st);  // may free the stream and the session
  if (!wait) done(arg);
}

size_t H2StreamLink::buffered() const { return stream_ != nullptr ? stream_->pending_bytes + stream_->in_flight : 0; }

bool H2StreamLink::encrypted() const {
  return stream_ != nullptr && stream_->session->link() != nullptr && stream_->session->link()->encrypted();
}

const char* H2StreamLink::transport_name() const {
  return stream_ != nullptr && stream_->session->link() != nullptr ? stream_->session->link()->transport_name() : "epoll";
}

std::string_view H2StreamLink::alpn() const {
  return stream_ != nullptr && stream_->session->link() != nullptr ? stream_->session->link()->alpn() : std::string_view();
}

bool H2StreamLink::answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) {
  H2Stream* st = stream_;
  if (st == nullptr || st->closed || st->answered) return false;
  std::vector<nghttp2_nv> nv;
  nv.reserve(fields.size());
  for (const auto& f : fields) {
    nv.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(f.name.data())),
                  reinterpret_cast<uint8_t*>(const_cast<char*>(f.value.data())), f.name.size(), f.value.size(),
                  NGHTTP2_NV_FLAG_NONE});
  }
  nghttp2_data_provider2 provider{};
  provider.source.ptr = st;
  const nghttp2_data_provider2* p = &provider;
  if (end) {
    st->refusal = true;
    st->body.assign(body);
    provider.read_callback = read_body;
    if (body.empty()) p = nullptr;  // END_STREAM on the HEADERS
  } else {
    provider.read_callback = &H2StreamLink::read_websocket;
  }
  if (nghttp2_submit_response2(st->session->ng(), st->id, nv.data(), nv.size(), p) != 0) return false;
  st->answered = true;
  st->session->mark_dirty();
  return true;
}

}  // namespace sockudo::transport
