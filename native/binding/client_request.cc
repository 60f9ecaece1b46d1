#include "binding/client_request.h"

namespace sockudo::binding {

bool read_client_request(Napi::Env env, const Napi::Object& o, const transport::SocketConfig& config, std::string host,
                         uint16_t port, bool secure, ClientRequest& out) {
  out.host = std::move(host);
  out.path = get_string(o, "path");
  out.origin = get_string(o, "origin");
  if (!read_string_list(o.Get("protocols"), out.protocols) || !read_header_list(o.Get("headers"), out.headers)) {
    throw_type_error(env, "protocols and headers must be arrays of strings");
    return false;
  }
  out.protocol_views.assign(out.protocols.begin(), out.protocols.end());
  handshake::ClientRequestOptions& ro = out.options;
  ro.host = out.host;
  ro.port = port;
  ro.secure = secure;
  ro.path = out.path.empty() ? std::string_view("/") : std::string_view(out.path);
  ro.protocols = out.protocol_views;
  ro.origin = out.origin;
  ro.headers = out.headers.fields();
  if (config.offer_deflate) ro.deflate = &config.deflate_offer;
  return true;
}

void throw_build_error(Napi::Env env, handshake::BuildError error) {
  Napi::TypeError e = Napi::TypeError::New(env, handshake::build_error_message(error));
  e.Set("code", Napi::String::New(env, handshake::build_error_name(error)));
  e.ThrowAsJavaScriptException();
}

}  // namespace sockudo::binding
