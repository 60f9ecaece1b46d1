// What a transport socket reports upward. The binding implements these; nothing here knows N-API.
#pragma once

#include <span>
#include <string>

#include "core/handshake/extended_connect.h"
#include "core/handshake/http_head_parser.h"
#include "core/handshake/server_upgrade.h"
#include "core/io/output_queue.h"
#include "core/protocol/events.h"
#include "transport/link.h"

namespace sockudo::transport {

class Endpoint;
class H2Session;

// Why a client handshake failed (before the connection opened).
struct ClientFailure {
  std::string code;     // stable error code, e.g. WS_ERR_HANDSHAKE_BAD_STATUS, ECONNREFUSED, ETIMEDOUT
  std::string message;
  int status = 0;       // HTTP status of an unexpected response, else 0
  std::string raw_head; // the response head, for "unexpected response" reporting (may be empty)
  // The response body of a refused upgrade (status != 0): Content-Length bytes, or what arrived
  // until the server closed; at most Endpoint::kMaxRejectionBody bytes, read within the handshake
  // timeout. A chunked body is passed on as received (not decoded).
  std::string body;
};

// Per-connection events: the protocol engine's (EventSink) plus the transport's own.
class SocketHandler : public protocol::EventSink {
 public:
  // The output queue emptied after the socket had been waiting for the kernel (backpressure).
  virtual void on_drain() = 0;
  // Client: the server accepted the upgrade; the connection is open (not yet reading: start()).
  virtual void on_client_open() = 0;
  // Client: connecting or the handshake failed. No on_close follows.
  virtual void on_client_failed(const ClientFailure& failure) = 0;
  // External I/O (a JS Duplex): bytes to write to it, in order. Called from flushes. Returns
  // the bytes the Duplex now buffers; negative (-(bytes) - 1) when it asked writers to wait for
  // its 'drain' (then the socket holds further output natively until external_drained()).
  virtual double on_external_write(std::span<const io::Slice> slices) = 0;
  // External I/O: whether the Duplex should be read (false: pause it). Reported on change; the
  // socket stops input while the application paused, the engine is suspended, or bytes it cannot
  // process yet (an upgrade decision pending, listeners not attached) reach their cap.
  virtual void on_external_flow(bool reading) = 0;
  // External I/O: the transport should end the Duplex.
  virtual void on_external_end() = 0;
  // External I/O on a stream of Node's http2 server: respond with these fields (":status"
  // first), then `body`; `end` ends the stream after it (a refusal).
  virtual void on_external_answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) {
    (void)fields, (void)body, (void)end;
  }
  // The Endpoint is being destroyed: forget the pointer to it. Always the last call.
  virtual void on_detached() = 0;
};

// Server-level events about sockets that do not have a handler yet.
class ServerHandler {
 public:
  virtual ~ServerHandler() = default;
  // A socket of this server exists (accepted or adopted), before any of its bytes are read.
  virtual void on_socket_created(Endpoint& socket) = 0;
  // A complete, valid upgrade request (RFC 6455 §4.2.1). The application answers with
  // socket.accept() or socket.reject(), now or later (the handshake timeout still runs).
  // `headers`: the request's fields (an HTTP/1.1 head, or an HTTP/2 stream's regular fields);
  // socket.http_version() says which.
  virtual void on_upgrade_request(Endpoint& socket, const handshake::HeaderList& headers,
                                  const handshake::UpgradeRequest& request) = 0;
  // The transport answered a handshake itself (an invalid request, or 408 after the handshake
  // timeout), so the application will not be asked about it.
  virtual void on_handshake_rejected(Endpoint& socket, int status) = 0;
  // The application answered the upgrade request (accept or reject): nothing about this
  // handshake will be reported again, so state kept for it can go.
  virtual void on_handshake_decided(Endpoint& socket) {}
  // A TLS connection of this server failed before its upgrade request (garbage instead of TLS, a
  // refused client certificate, an alert, a handshake cut off): the socket closes right after.
  virtual void on_tls_failure(Endpoint& socket, const LinkFailure& failure) {}
  // A complete, well-formed HTTP/1.1 request that is not an upgrade, on a plain TCP connection of
  // a server configured with http_handoff: the application serves it (and what follows on the
  // connection) itself. `bytes` holds everything read so far, the head first; `fd` is the
  // connection's descriptor, which the endpoint stops using (and closes its own copy of) right
  // after this call. Returns false to have the transport answer 426 as without a handoff.
  virtual bool on_http_request(Endpoint& socket, int fd, std::span<const uint8_t> bytes) {
    (void)socket, (void)fd, (void)bytes;
    return false;
  }
  // A socket of this server finished (after its handler's on_detached, if it had one).
  virtual void on_socket_gone(Endpoint& socket) = 0;
  // An HTTP/2 connection of this server began / ended (its streams are sockets of their own).
  virtual void on_session_created(H2Session& session) = 0;
  virtual void on_session_gone(H2Session& session) = 0;
};

}  // namespace sockudo::transport
