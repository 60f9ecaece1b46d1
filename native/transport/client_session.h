// A client connection that carries many WebSockets, one per extended CONNECT stream: HTTP/2
// (h2_session.h, RFC 8441) or HTTP/3 (h3_session.h, RFC 9220). The binding drives both alike.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/handshake/client_upgrade.h"
#include "core/handshake/extended_connect.h"
#include "transport/socket_handler.h"

namespace sockudo::transport {

class Endpoint;

// What a client session reports (the binding implements it).
class SessionClientHandler {
 public:
  virtual ~SessionClientHandler() = default;
  // The server's SETTINGS arrived: whether it accepts extended CONNECT (RFC 8441 §3, RFC 9220 §3).
  virtual void on_session_ready(bool connect_protocol) = 0;
  // Connecting, TLS or the connection failed before it was ready.
  virtual void on_session_failed(const ClientFailure& failure) = 0;
  // The connection ended (after on_session_ready). Always the last call.
  virtual void on_session_closed() = 0;
};

// Reports a failure before the session was ready to `client`, once: it is cleared first, so the
// handler is not called again (HTTP/2's and HTTP/3's fail_client).
inline void report_session_failure(SessionClientHandler*& client, std::string code, std::string message) {
  SessionClientHandler* h = client;
  client = nullptr;
  if (h == nullptr) return;
  ClientFailure f;
  f.code = std::move(code);
  f.message = std::move(message);
  h->on_session_failed(f);
}

class ClientSession {
 public:
  virtual ~ClientSession() = default;
  // Opens a WebSocket on a new stream (`fields` from ClientHandshake::build_connect). The endpoint
  // reports to `handler` like a client connection; null when no stream can be opened.
  virtual Endpoint* open_websocket(const std::vector<handshake::OwnedField>& fields,
                                   std::unique_ptr<handshake::ClientHandshake> hs, SocketHandler* handler) = 0;
  // The application is done with the session (the handler is not called any more).
  virtual void detach_client() = 0;
  // GOAWAY: no new streams; the connection ends with its last WebSocket.
  virtual void close_gracefully() = 0;
  virtual bool ready() const = 0;
};

}  // namespace sockudo::transport
