// A byte link: what carries one WebSocket's bytes below its endpoint (DESIGN.md §2). Plain TCP on
// uv_poll (fd_link.h), a JS Duplex (external_link.h), TLS over another link (tls_link.h), one
// stream of an HTTP/2 connection (h2_stream_link.h); io_uring later. The endpoint sees only this
// interface: plaintext in (on_link_data), plaintext out (write), readiness, half-close and close,
// and — for a stream of a multiplexing session — the answer to the handshake, which that session
// frames itself.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/handshake/extended_connect.h"
#include "core/io/output_queue.h"

namespace sockudo::transport {

// Why a link failed in a way an errno does not say (TLS): a stable code (Node's where one exists,
// e.g. ERR_TLS_CERT_ALTNAME_INVALID, CERT_HAS_EXPIRED) and a sentence.
struct LinkFailure {
  std::string code;
  std::string message;
};

// What a link reports to the session above it. Every call may end the connection (the session
// may call close() from inside it); a link checks its own state after each.
class LinkEvents {
 public:
  virtual ~LinkEvents() = default;
  // A client link is ready to carry the session's bytes (TCP connected; TLS handshake done and
  // the peer verified).
  virtual void on_link_connected() = 0;
  // Bytes that arrived, in order. `data` is writable and valid only during the call (usually the
  // loop's receive buffer: the engine unmasks it in place).
  virtual void on_link_data(uint8_t* data, size_t len) = 0;
  // The link takes bytes again after a write() that reported `blocked`.
  virtual void on_link_writable() = 0;
  // The peer ended the stream (error 0) or the link failed (-errno).
  virtual void on_link_eof(int error) = 0;
  // The link failed for a reason of its own (a TLS alert, a certificate the client refused).
  virtual void on_link_failed(const LinkFailure& failure) = 0;
  // Input the link holds (decrypted records, bytes kept while reading was off) can be delivered
  // again: the session should call Link::pump() from its next resume pass, not from this call.
  virtual void on_link_pending() = 0;
  // A link that releases on acknowledgement (Link::releases_on_ack) finished with the next `bytes`
  // the endpoint committed to it (an HTTP/2 stream's DATA reached the connection's link).
  virtual void on_link_acknowledged(size_t bytes) { (void)bytes; }
  // A client stream's response to its extended CONNECT (":status" apart, the other fields).
  virtual void on_link_response(int status, const handshake::HeaderList& fields) { (void)status, (void)fields; }
};

struct LinkWrite {
  size_t taken = 0;      // bytes of the slices the link took (it owns copies of them now)
  bool blocked = false;  // stop writing until on_link_writable()
  int error = 0;         // -errno: the link failed (the session ends the connection)
};

class Link {
 public:
  virtual ~Link() = default;
  virtual void set_events(LinkEvents* events) = 0;
  // Writes the slices in order, as much as the link takes now.
  virtual LinkWrite write(std::span<const io::Slice> slices) = 0;
  // Whether the session wants input and whether it waits for writability.
  virtual void set_wants(bool read, bool write) = 0;
  // Delivers input the link holds (after on_link_pending, when the session wants input again).
  virtual void pump() {}
  // Our output is done: end our direction after what was written (FIN, TLS close_notify) and keep
  // reporting input until the peer's EOF. False when that is not possible (close instead).
  virtual bool shutdown_write() = 0;
  // Stops all I/O and releases the descriptor. `done(arg)` runs once nothing of the link's is in
  // flight (a libuv handle closed), possibly from inside this call.
  virtual void close(void (*done)(void*), void* arg) = 0;
  // Whether an operation the link started may still read bytes of slices it reported as taken
  // (an io_uring send in flight reads the session's buffers until its completion). The session
  // then frees its output only once close()'s done() has run. TCP, TLS and Duplex links copy or
  // finish with the bytes inside write(): false.
  virtual bool reads_after_write() const { return false; }
  // Bytes the link accepted but has not passed on yet (TLS records waiting, a Duplex's buffer).
  virtual size_t buffered() const { return 0; }
  // Whether the link can carry session bytes yet (a TLS handshake may still be in progress).
  virtual bool ready() const { return true; }
  // A JS Duplex carries the bytes (no descriptor; JS is called to write).
  virtual bool external() const { return false; }
  // TLS: the negotiated ALPN protocol ("" when none or not TLS), and whether the link is encrypted.
  virtual std::string_view alpn() const { return {}; }
  virtual bool encrypted() const { return false; }
  // The operating system's socket descriptor when the link is plain TCP owned by us (so the
  // connection can be handed to Node as it is: an HTTP request that is not an upgrade); -1 for a
  // TLS link, a Duplex or a stream of a session.
  virtual int os_fd() const { return -1; }
  // What moves the bytes: "epoll" (readiness polling and a syscall per read and write),
  // "io_uring" (the loop's ring), "duplex" (a JS Duplex). TLS and HTTP/2 streams answer for the
  // link under them.
  virtual const char* transport_name() const { return "epoll"; }
  // Bytes a write should gather before leaving, for links whose writes cost a crossing (JS).
  virtual size_t flush_threshold() const { return 4 * 1024; }

  // --- streams of a multiplexing session (HTTP/2; HTTP/3 later) ---------------------------------
  // The HTTP version of the request this link carries (1: an HTTP/1.1 upgrade on the link's own
  // bytes; 2: an HTTP/2 extended CONNECT stream).
  virtual int http_version() const { return 1; }
  // Whether the session frames the handshake's answer (HEADERS with :status, RFC 8441 §5) instead
  // of the endpoint writing an HTTP/1.1 response into the byte stream.
  virtual bool frames_answer() const { return false; }
  // Sends the answer: `fields` (":status" first), then `body`; `end` finishes the stream after
  // the body (a refusal). False when the stream is gone.
  virtual bool answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) {
    (void)fields, (void)body, (void)end;
    return false;
  }
  // Whether bytes taken by write() stay the endpoint's until on_link_acknowledged() (the session
  // frames them later, borrowing them in place): the endpoint's output queue then runs in
  // acknowledgement mode.
  virtual bool releases_on_ack() const { return false; }
  // Asks the link to send the session's bytes in place, reporting them with on_link_acknowledged
  // once sent, instead of copying them (only a session that keeps its output until then may ask:
  // the endpoint directly over the link, not TLS or an HTTP/2 session). True when it will.
  // send_in_place(false) before the link changes hands (an HTTP/2 session takes it over).
  virtual bool send_in_place(bool on) {
    (void)on;
    return false;
  }
  // Whether, after shutdown_write(), the link reports the end of the exchange (on_link_eof) even
  // when the peer's end was reported before (an HTTP/2 stream: its close once both sides ended).
  virtual bool reports_close() const { return false; }
};

}  // namespace sockudo::transport
