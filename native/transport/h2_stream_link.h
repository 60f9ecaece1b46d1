// One stream of an HTTP/2 connection carrying one WebSocket (RFC 8441): the Link its endpoint
// writes to and reads from. The stream's state (H2Stream) belongs to the session (h2_session.h);
// the endpoint holds an H2StreamLink, a handle onto it.
//
// Flow control is backpressure (RFC 9113 §5.2):
// - Sending: write() takes what the stream's send window allows and no more; the bytes stay in
//   the endpoint's output queue (acknowledgement mode) and the session frames them in place
//   (NGHTTP2_DATA_FLAG_NO_COPY) when it writes the connection. They are acknowledged to the
//   endpoint once the connection's link has taken them. A full window reports `blocked`; a
//   WINDOW_UPDATE (stream or connection) reports on_link_writable. So bufferedAmount, 'drain' and
//   maxBackpressure count what the stream's window has not taken.
// - Receiving: DATA is delivered while the endpoint wants input and only then consumed
//   (nghttp2_session_consume → WINDOW_UPDATE). A paused or suspended endpoint leaves its bytes
//   held here, unconsumed: the peer's window for this stream closes, sibling streams go on.
#pragma once

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/handshake/extended_connect.h"
#include "core/io/output_queue.h"
#include "transport/link.h"

namespace sockudo::transport {

class H2Session;

// The session's record of one request stream.
struct H2Stream {
  H2Session* session = nullptr;
  int32_t id = 0;
  std::unique_ptr<handshake::ConnectRequest> request;  // while its header block arrives
  LinkEvents* events = nullptr;                       // the endpoint, while one is attached
  bool has_endpoint = false;    // an endpoint was created for it (it owns an H2StreamLink)
  bool detached = false;        // that endpoint closed its link
  bool closed = false;          // nghttp2 closed the stream (or the session ended)
  bool answered = false;        // response HEADERS submitted
  bool refusal = false;         // the answer ends the stream (its body is copied in `body`)
  bool end_requested = false;   // shutdown_write(): END_STREAM after what is pending
  bool end_sent = false;        // END_STREAM given to nghttp2
  bool remote_ended = false;    // the peer's END_STREAM arrived
  bool eof_delivered = false;
  bool wants_read = false;
  bool write_blocked = false;   // write() reported blocked: report on_link_writable on a window update
  std::deque<io::Slice> pending;  // taken from the endpoint's queue, not yet framed
  size_t pending_bytes = 0;
  size_t in_flight = 0;           // framed into the session's output, not yet written to its link
  std::vector<uint8_t> held;      // DATA received while the endpoint did not want it (unconsumed)
  std::string body;               // a refusal's body
  int response_status = 0;        // client: the response's :status
  handshake::OwnedFieldList response;  // client: the response's other fields
  size_t body_offset = 0;
  void (*close_done)(void*) = nullptr;  // the endpoint's link close waits for in_flight == 0
  void* close_arg = nullptr;

  // Whether nothing refers to this record any more (the session may free it).
  bool finished() const { return closed && in_flight == 0 && (!has_endpoint || detached) && close_done == nullptr; }
};

class H2StreamLink final : public Link {
 public:
  explicit H2StreamLink(H2Stream* stream) : stream_(stream) {}
  void set_events(LinkEvents* events) override;
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override;
  void pump() override;
  bool shutdown_write() override;
  void close(void (*done)(void*), void* arg) override;
  bool reads_after_write() const override { return true; }
  size_t buffered() const override;
  bool encrypted() const override;
  const char* transport_name() const override;
  std::string_view alpn() const override;
  int http_version() const override { return 2; }
  bool frames_answer() const override { return true; }
  bool answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) override;
  bool releases_on_ack() const override { return true; }
  bool reports_close() const override { return true; }
  // nghttp2's read callback for a WebSocket stream's DATA (NO_COPY from `pending`).
  static nghttp2_ssize read_websocket(nghttp2_session* ng, int32_t stream_id, uint8_t* buf, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void* user_data);

 private:
  H2Stream* stream_;  // null once closed
};

}  // namespace sockudo::transport
