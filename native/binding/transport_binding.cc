// Registers the transport surface: the JS handler table, NativeServer, NativeSocket and connect(),
// and ties the per-environment loop state to the environment's lifetime.
#include <uv.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "binding/client_request.h"
#include "binding/env_state.h"
#include "binding/h2_client_wrap.h"
#include "binding/js_values.h"
#include "binding/server_wrap.h"
#include "binding/socket_wrap.h"
#include "binding/tls_binding.h"
#include "binding/transport_choice.h"
#include "core/handshake/client_upgrade.h"
#include "core/handshake/handshake_errors.h"
#include "core/protocol/deflate_params.h"
#include "transport/errno_name.h"
#include "transport/tcp.h"
#include "transport/uring_ring.h"

namespace sockudo::binding {

namespace {

// setHandlers({ upgrade, upgradeFailed, open, openFailed, message, ping, pong, close, error, drain, write, end, flow, tlsError,
//               respond, h2Ready, h2Failed, h2Closed })
Napi::Value set_handlers(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return throw_type_error(env, "setHandlers(handlers)");
  Napi::Object h = info[0].As<Napi::Object>();
  EnvState& state = env_state(env);
  auto take = [&](Napi::FunctionReference& slot, const char* name) {
    Napi::Value v = h.Get(name);
    if (v.IsFunction()) slot = Napi::Persistent(v.As<Napi::Function>());
  };
  take(state.handlers.upgrade, "upgrade");
  take(state.handlers.upgrade_failed, "upgradeFailed");
  take(state.handlers.open, "open");
  take(state.handlers.open_failed, "openFailed");
  take(state.handlers.message, "message");
  take(state.handlers.ping, "ping");
  take(state.handlers.pong, "pong");
  take(state.handlers.close, "close");
  take(state.handlers.error, "error");
  take(state.handlers.drain, "drain");
  take(state.handlers.write, "write");
  take(state.handlers.end, "end");
  take(state.handlers.flow, "flow");
  take(state.handlers.tls_error, "tlsError");
  take(state.handlers.respond, "respond");
  take(state.handlers.h2_ready, "h2Ready");
  take(state.handlers.h2_failed, "h2Failed");
  take(state.handlers.h2_closed, "h2Closed");
  take(state.handlers.http_request, "httpRequest");
  state.handlers_set = true;
  return env.Undefined();
}

// connect(config, target) → NativeSocket. config: { ip, port, host, secure, path, protocols,
// origin, headers, tls?: context from createTlsContext, servername, ...connection options }. Throws a TypeError with the build error's code for
// invalid request parts (lib/ validates first, so this is a second line of defence).
Napi::Value connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsObject()) return throw_type_error(env, "connect(config, target)");
  EnvState& state = env_state(env);
  Napi::Object o = info[0].As<Napi::Object>();
  auto config = read_socket_config(o);
  const TransportChoice choice = choose_transport(*state.loop, o, *config);
  const std::string ip = get_string(o, "ip");
  const auto port = static_cast<uint16_t>(get_number(o, "port", 80));
  ClientRequest req;
  if (!read_client_request(env, o, *config, get_string(o, "host"), port, get_bool(o, "secure", false), req)) return env.Undefined();
  auto hs = std::make_unique<handshake::ClientHandshake>(config->head_limits);
  std::string request;
  const auto err = hs->build_request(req.options, state.loop->random(), request);
  if (err != handshake::BuildError::None) {
    throw_build_error(env, err);
    return env.Undefined();
  }
  Napi::Object wrap_obj = state.socket_ctor.New({});
  SocketWrap* wrap = SocketWrap::Unwrap(wrap_obj);
  wrap->set_target(info[1].As<Napi::Object>());
  transport::TlsClientParams tls;
  const Napi::Value tls_value = o.Get("tls");
  if (!tls_value.IsUndefined()) {
    tls.context = unwrap_tls_context(env, tls_value);
    if (!tls.context || tls.context->server()) return throw_type_error(env, "config.tls must be a client context from createTlsContext");
    tls.servername = get_string(o, "servername");
  }
  int error = 0;
  transport::LinkFailure failure;
  transport::Endpoint* s = transport::Endpoint::create_client(*state.loop, ip, port, config, std::move(request), std::move(hs),
                                                          wrap, tls.context ? &tls : nullptr, &error, &failure);
  if (s == nullptr && !failure.code.empty()) {
    Napi::Error e = Napi::Error::New(env, failure.message);
    e.Set("code", Napi::String::New(env, failure.code));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (s == nullptr) {
    const std::string name = transport::errno_name(error, "EIO");
    Napi::Error e = Napi::Error::New(env, "connect " + name + " " + ip + ":" + std::to_string(port) + ": " + std::strerror(error));
    e.Set("code", Napi::String::New(env, name));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  wrap->attach(s);
  wrap->set_transport_reason(choice.reason);
  return wrap_obj;
}

// adoptClient(config, target, fd) → NativeSocket: a client connection whose upgrade request Node's
// http client sent (the `ws` drop-in). config: { key, host, port, secure, path, protocols,
// ...connection options } as for connect() (no headers: the request is gone). fd: a connected
// socket (we work on a dup; the caller destroys its own), or -1 for a Duplex (feed/end, write
// handler). The caller then feeds the response head; open/openFailed follow as for connect().
Napi::Value adopt_client(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsObject() || !info[2].IsNumber()) return throw_type_error(env, "adoptClient(config, target, fd)");
  EnvState& state = env_state(env);
  Napi::Object o = info[0].As<Napi::Object>();
  auto config = read_socket_config(o);
  const TransportChoice choice = choose_transport(*state.loop, o, *config);
  ClientRequest req;
  if (!read_client_request(env, o, *config, get_string(o, "host"), static_cast<uint16_t>(get_number(o, "port", 80)),
                           get_bool(o, "secure", false), req))
    return env.Undefined();
  auto hs = std::make_unique<handshake::ClientHandshake>(config->head_limits);
  const auto err = hs->expect_response(req.options, get_string(o, "key"));
  if (err != handshake::BuildError::None) {
    throw_build_error(env, err);
    return env.Undefined();
  }
  int fd = info[2].As<Napi::Number>().Int32Value();
  if (fd >= 0) {
    fd = transport::dup_socket(fd);
    if (fd < 0) {
      Napi::Error e = Napi::Error::New(env, std::string("dup failed: ") + std::strerror(-fd));
      e.Set("code", Napi::String::New(env, "ERR_SOCKUDO_WS_ADOPT"));
      e.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    transport::set_nonblocking(fd);
    transport::set_nodelay(fd);  // fails harmlessly on a unix socket
  }
  Napi::Object wrap_obj = state.socket_ctor.New({});
  SocketWrap* wrap = SocketWrap::Unwrap(wrap_obj);
  wrap->set_target(info[1].As<Napi::Object>());
  transport::Endpoint* s = transport::Endpoint::adopt_client(*state.loop, fd, config, std::move(hs), wrap);
  wrap->attach(s);
  wrap->set_transport_reason(choice.reason);
  return wrap_obj;
}

// deflateOffer(config) → the Sec-WebSocket-Extensions value connect() would send for these
// options ('' when compression is off): what the ws drop-in puts in its own request.
Napi::Value deflate_offer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return throw_type_error(env, "deflateOffer(config)");
  auto config = read_socket_config(info[0].As<Napi::Object>());
  return Napi::String::New(env, config->offer_deflate ? protocol::format_deflate_offer(config->deflate_offer) : std::string());
}

Napi::Value socket_count(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(env_state(info.Env()).loop->member_count()));
}

// uringStats() → { ring, inFlight, prepared, submits, bufferShortages } of this environment's io_uring (ring: false
// when none was created or it could not be): what tests check after teardown and what benchmarks
// report per message.
Napi::Value uring_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  transport::UringRing* r = env_state(env).loop->uring_if_created();
  Napi::Object o = Napi::Object::New(env);
  o.Set("ring", Napi::Boolean::New(env, r != nullptr));
  o.Set("inFlight", Napi::Number::New(env, r ? static_cast<double>(r->in_flight()) : 0));
  o.Set("prepared", Napi::Number::New(env, r ? static_cast<double>(r->prepared()) : 0));
  o.Set("submits", Napi::Number::New(env, r ? static_cast<double>(r->submits()) : 0));
  o.Set("bufferShortages", Napi::Number::New(env, r ? static_cast<double>(r->buffer_shortages()) : 0));
  return o;
}

// deflateMemory() → { bytes, deflaters, inflaters, pooledInflaters }: zlib-ng memory of this
// environment's connections (the per-mode cost benchmarks and tests report).
Napi::Value deflate_memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto& ctx = env_state(env).loop->deflate();
  Napi::Object o = Napi::Object::New(env);
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(ctx.memory().bytes)));
  o.Set("deflaters", Napi::Number::New(env, ctx.memory().deflaters));
  o.Set("inflaters", Napi::Number::New(env, ctx.memory().inflaters));
  o.Set("pooledInflaters", Napi::Number::New(env, static_cast<double>(ctx.pooled_inflaters())));
  o.Set("compressions", Napi::Number::New(env, static_cast<double>(ctx.compressions())));
  return o;
}

// Environment teardown (process exit or worker termination): close every socket and libuv handle,
// then tell Node we are done. JS is never called from here.
void async_cleanup(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* state = static_cast<EnvState*>(arg);
  state->tearing_down = true;
  state->cleanup = handle;
  state->loop->shutdown(
      [](void* a) {
        auto* st = static_cast<EnvState*>(a);
        napi_remove_async_cleanup_hook(st->cleanup);
      },
      state);
}

}  // namespace

void register_transport(Napi::Env env, Napi::Object exports) {
  EnvState& state = env_state(env);
  uv_loop_t* uv = nullptr;
  napi_get_uv_event_loop(env, &uv);
  state.js_scope = std::make_unique<JsScope>(env);
  state.loop = std::make_unique<transport::Loop>(uv, state.mask_kernel, state.js_scope.get());
  napi_add_async_cleanup_hook(env, async_cleanup, &state, nullptr);

  Napi::Function socket_ctor = SocketWrap::define(env);
  state.socket_ctor = Napi::Persistent(socket_ctor);
  exports.Set("NativeSocket", socket_ctor);
  exports.Set("NativeServer", ServerWrap::define(env));
  exports.Set("NativeHttp2Session", H2ClientWrap::define(env));
  exports.Set("setHandlers", Napi::Function::New(env, set_handlers, "setHandlers"));
  exports.Set("connect", Napi::Function::New(env, connect, "connect"));
  exports.Set("adoptClient", Napi::Function::New(env, adopt_client, "adoptClient"));
  exports.Set("deflateOffer", Napi::Function::New(env, deflate_offer, "deflateOffer"));
  exports.Set("socketCount", Napi::Function::New(env, socket_count, "socketCount"));
  exports.Set("uringStats", Napi::Function::New(env, uring_stats, "uringStats"));
  exports.Set("deflateMemory", Napi::Function::New(env, deflate_memory, "deflateMemory"));
}

}  // namespace sockudo::binding
