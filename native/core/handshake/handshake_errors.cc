#include "core/handshake/handshake_errors.h"

namespace sockudo::handshake {

const char* handshake_error_name(HandshakeError e) {
  switch (e) {
    case HandshakeError::None: return "";
    case HandshakeError::HeadTooLarge: return "WS_ERR_HANDSHAKE_HEAD_TOO_LARGE";
    case HandshakeError::Malformed: return "WS_ERR_HANDSHAKE_MALFORMED";
    case HandshakeError::BadStatus: return "WS_ERR_HANDSHAKE_BAD_STATUS";
    case HandshakeError::BadUpgrade: return "WS_ERR_HANDSHAKE_BAD_UPGRADE";
    case HandshakeError::BadConnection: return "WS_ERR_HANDSHAKE_BAD_CONNECTION";
    case HandshakeError::BadAccept: return "WS_ERR_HANDSHAKE_BAD_ACCEPT";
    case HandshakeError::BadProtocol: return "WS_ERR_HANDSHAKE_BAD_PROTOCOL";
    case HandshakeError::BadExtension: return "WS_ERR_HANDSHAKE_BAD_EXTENSION";
  }
  return "";
}

const char* build_error_name(BuildError e) {
  switch (e) {
    case BuildError::None: return "";
    case BuildError::InvalidHeaderName: return "WS_ERR_INVALID_HEADER_NAME";
    case BuildError::InvalidHeaderValue: return "WS_ERR_INVALID_HEADER_VALUE";
    case BuildError::ForbiddenHeader: return "WS_ERR_FORBIDDEN_HEADER";
    case BuildError::InvalidSubprotocol: return "WS_ERR_INVALID_SUBPROTOCOL";
    case BuildError::DuplicateSubprotocol: return "WS_ERR_DUPLICATE_SUBPROTOCOL";
    case BuildError::SubprotocolNotOffered: return "WS_ERR_SUBPROTOCOL_NOT_OFFERED";
    case BuildError::InvalidExtensions: return "WS_ERR_INVALID_EXTENSIONS";
    case BuildError::InvalidDeflateOption: return "WS_ERR_INVALID_DEFLATE_OPTION";
    case BuildError::InvalidHost: return "WS_ERR_INVALID_HOST";
    case BuildError::InvalidPath: return "WS_ERR_INVALID_PATH";
    case BuildError::InvalidOrigin: return "WS_ERR_INVALID_ORIGIN";
    case BuildError::InvalidStatus: return "WS_ERR_INVALID_STATUS_CODE";
    case BuildError::BodyNotAllowed: return "WS_ERR_BODY_NOT_ALLOWED";
    case BuildError::InvalidKey: return "WS_ERR_INVALID_KEY";
  }
  return "";
}

const char* build_error_message(BuildError e) {
  switch (e) {
    case BuildError::None: return "";
    case BuildError::InvalidHeaderName: return "header name must be a token";
    case BuildError::InvalidHeaderValue: return "header value must not contain control characters (CR, LF, NUL, ...)";
    case BuildError::ForbiddenHeader: return "header is set by the WebSocket handshake and cannot be overridden";
    case BuildError::InvalidSubprotocol: return "subprotocol must be a non-empty token";
    case BuildError::DuplicateSubprotocol: return "subprotocols must be unique";
    case BuildError::SubprotocolNotOffered: return "the selected subprotocol was not offered by the client";
    case BuildError::InvalidExtensions: return "invalid Sec-WebSocket-Extensions value";
    case BuildError::InvalidDeflateOption: return "permessage-deflate window bits must be within 8..15";
    case BuildError::InvalidHost: return "invalid host";
    case BuildError::InvalidPath: return "path must start with '/' and contain only visible ASCII without '#'";
    case BuildError::InvalidOrigin: return "origin must be a valid header value";
    case BuildError::InvalidStatus: return "status code must be within 200..599";
    case BuildError::BodyNotAllowed: return "a 204 or 304 response cannot have a body";
    case BuildError::InvalidKey: return "the request has no valid Sec-WebSocket-Key";
  }
  return "";
}

}  // namespace sockudo::handshake
