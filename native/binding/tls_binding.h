// TLS contexts as JS values: createTlsContext(options) builds one (an External tagged with our
// type, holding a shared_ptr), and servers and clients take them back from their config.
#pragma once

#include <napi.h>

#include <memory>

#include "transport/tls_context.h"

namespace sockudo::binding {

// The context inside a value made by createTlsContext, or null for anything else.
std::shared_ptr<transport::TlsContext> unwrap_tls_context(Napi::Env env, const Napi::Value& v);
// { context, sni: [name, context, ...] } → the server's contexts; null when `v` is not one.
std::shared_ptr<transport::TlsServerContexts> read_tls_server(Napi::Env env, const Napi::Value& v);
void register_tls(Napi::Env env, Napi::Object exports);

}  // namespace sockudo::binding
