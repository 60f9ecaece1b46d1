// The handshake's two error families (DESIGN §7), each with a stable string code:
//  - HandshakeError: the server's response broke RFC 6455 §4.1; the client fails the connection
//    and reports the code (a server answering a bad request uses an HTTP status instead, see
//    server_upgrade.h).
//  - BuildError: the local program asked a builder for something invalid (header injection, a
//    subprotocol the client never offered, ...). Nothing is written; the binding throws a
//    TypeError/RangeError carrying the code.
#pragma once

#include <cstdint>

namespace sockudo::handshake {

enum class HandshakeError : uint8_t {
  None = 0,
  HeadTooLarge,   // WS_ERR_HANDSHAKE_HEAD_TOO_LARGE: over max_head_size / max_headers
  Malformed,      // WS_ERR_HANDSHAKE_MALFORMED: not an HTTP/1.1 response head
  BadStatus,      // WS_ERR_HANDSHAKE_BAD_STATUS: status other than 101 ("unexpected response")
  BadUpgrade,     // WS_ERR_HANDSHAKE_BAD_UPGRADE: Upgrade is not "websocket"
  BadConnection,  // WS_ERR_HANDSHAKE_BAD_CONNECTION: Connection lacks "upgrade"
  BadAccept,      // WS_ERR_HANDSHAKE_BAD_ACCEPT: Sec-WebSocket-Accept missing or wrong
  BadProtocol,    // WS_ERR_HANDSHAKE_BAD_PROTOCOL: subprotocol not offered, or several
  BadExtension,   // WS_ERR_HANDSHAKE_BAD_EXTENSION: extension not offered or bad parameters
};

const char* handshake_error_name(HandshakeError e);  // "" for None

enum class BuildError : uint8_t {
  None = 0,
  InvalidHeaderName,     // WS_ERR_INVALID_HEADER_NAME: not a token (RFC 9110 §5.1)
  InvalidHeaderValue,    // WS_ERR_INVALID_HEADER_VALUE: CR, LF, NUL or another control character
  ForbiddenHeader,       // WS_ERR_FORBIDDEN_HEADER: a field the handshake itself writes
  InvalidSubprotocol,    // WS_ERR_INVALID_SUBPROTOCOL: not a token (RFC 6455 §4.1)
  DuplicateSubprotocol,  // WS_ERR_DUPLICATE_SUBPROTOCOL (RFC 6455 §4.1: "MUST all be unique")
  SubprotocolNotOffered, // WS_ERR_SUBPROTOCOL_NOT_OFFERED (RFC 6455 §4.2.2 /subprotocol/)
  InvalidExtensions,     // WS_ERR_INVALID_EXTENSIONS: not a valid Sec-WebSocket-Extensions value
  InvalidDeflateOption,  // WS_ERR_INVALID_DEFLATE_OPTION: window bits outside 8..15
  InvalidHost,           // WS_ERR_INVALID_HOST
  InvalidPath,           // WS_ERR_INVALID_PATH: not an origin-form path (RFC 9112 §3.2.1)
  InvalidOrigin,         // WS_ERR_INVALID_ORIGIN
  InvalidStatus,         // WS_ERR_INVALID_STATUS_CODE: not 200..599
  BodyNotAllowed,        // WS_ERR_BODY_NOT_ALLOWED: 204 / 304 with a body (RFC 9110 §6.4.1)
  InvalidKey,            // WS_ERR_INVALID_KEY: the request carries no valid Sec-WebSocket-Key
};

const char* build_error_name(BuildError e);     // "" for None
const char* build_error_message(BuildError e);  // one line for the thrown error's message

}  // namespace sockudo::handshake
