// One request stream of an HTTP/3 connection carrying one WebSocket (RFC 9220): the Link its
// endpoint writes to and reads from. The stream's state (H3Stream) belongs to the session
// (h3_session.h); the endpoint holds an H3StreamLink, a handle onto it.
//
// Flow control and acknowledgements (RFC 9000 §4, §13):
// - Sending: write() takes what the stream's send credit (MAX_STREAM_DATA) leaves after what is
//   already queued, and no more. nghttp3 frames the bytes in place (DATA frames pointing into the
//   endpoint's output queue, which runs in acknowledgement mode) and ngtcp2 keeps referring to
//   them for retransmission, so they are released to the endpoint only when the peer has
//   acknowledged them (on_link_acknowledged). bufferedAmount, 'drain' and maxBackpressure
//   therefore count unacknowledged bytes. A full window reports `blocked`; MAX_STREAM_DATA
//   reports on_link_writable.
// - Receiving: DATA is delivered while the endpoint wants input, and only then is the credit
//   extended (stream and connection). A paused or suspended endpoint leaves its bytes held here:
//   the peer's credit for this stream runs out, sibling streams go on.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "core/handshake/extended_connect.h"
#include "core/io/output_queue.h"
#include "transport/link.h"

namespace sockudo::transport {

class H3Session;

// The session's record of one request stream.
struct H3Stream {
  H3Session* session = nullptr;
  int64_t id = 0;
  std::unique_ptr<handshake::ConnectRequest> request;  // while its header block arrives
  LinkEvents* events = nullptr;                       // the endpoint, while one is attached
  bool has_endpoint = false;    // an endpoint was created for it (it owns an H3StreamLink)
  bool detached = false;        // that endpoint closed its link
  bool closed = false;          // the stream closed (or the connection ended)
  bool answered = false;        // response HEADERS submitted
  bool refusal = false;         // the answer ends the stream (its body is copied in `body`)
  bool end_requested = false;   // shutdown_write(): FIN after what is pending
  bool end_sent = false;        // FIN given to nghttp3
  bool remote_ended = false;    // the peer's FIN arrived
  bool reset = false;           // RESET_STREAM / STOP_SENDING from the peer (1006 for the WebSocket)
  bool eof_delivered = false;
  bool wants_read = false;
  bool write_blocked = false;   // write() reported blocked: report on_link_writable on more credit
  std::deque<io::Slice> pending;  // taken from the endpoint's queue, not yet handed to nghttp3
  size_t pending_bytes = 0;
  uint64_t unacked = 0;           // handed to nghttp3, not yet acknowledged by the peer
  std::vector<uint8_t> held;      // DATA received while the endpoint did not want it (credit not extended)
  std::string body;               // a refusal's body
  int response_status = 0;        // client: the response's :status
  handshake::OwnedFieldList response;  // client: the response's other fields
  bool body_given = false;
  void (*close_done)(void*) = nullptr;  // the endpoint's link close waits until unacked == 0 or the stream ends
  void* close_arg = nullptr;

  bool finished() const { return closed && (!has_endpoint || detached) && close_done == nullptr; }
};

class H3StreamLink final : public Link {
 public:
  explicit H3StreamLink(H3Stream* stream) : stream_(stream) {}
  void set_events(LinkEvents* events) override;
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override;
  void pump() override;
  bool shutdown_write() override;
  void close(void (*done)(void*), void* arg) override;
  bool reads_after_write() const override { return true; }
  size_t buffered() const override;
  bool encrypted() const override { return true; }
  const char* transport_name() const override { return "quic"; }
  std::string_view alpn() const override { return "h3"; }
  int http_version() const override { return 3; }
  bool frames_answer() const override { return true; }
  bool answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) override;
  bool releases_on_ack() const override { return true; }
  bool reports_close() const override { return true; }

 private:
  H3Stream* stream_;  // null once closed
};

}  // namespace sockudo::transport
