// The client's request options from lib/'s flat config ({ path, protocols, headers, origin }), for
// an HTTP/1.1 upgrade (connect()) or an extended CONNECT stream (NativeHttp2Session.websocket()).
#pragma once

#include <napi.h>

#include <string>
#include <string_view>
#include <vector>

#include "binding/js_values.h"
#include "core/handshake/client_upgrade.h"
#include "transport/endpoint.h"

namespace sockudo::binding {

// Owns what `options` views.
struct ClientRequest {
  std::string host, path, origin;
  std::vector<std::string> protocols;
  std::vector<std::string_view> protocol_views;
  HeaderList headers;
  handshake::ClientRequestOptions options;
};

// Fills `out` for host:port (secure: wss/https). False (a TypeError thrown) when protocols or
// headers are not arrays of strings.
bool read_client_request(Napi::Env env, const Napi::Object& o, const transport::SocketConfig& config, std::string host,
                         uint16_t port, bool secure, ClientRequest& out);

// Throws the TypeError for a request the handshake refused to build (its WS_ERR_* code).
void throw_build_error(Napi::Env env, handshake::BuildError error);

}  // namespace sockudo::binding
