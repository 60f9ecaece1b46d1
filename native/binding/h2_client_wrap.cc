#include "binding/h2_client_wrap.h"

#include <cstring>
#include <string>
#include <vector>

#include "binding/client_request.h"
#include "binding/js_values.h"
#include "binding/server_wrap.h"
#include "binding/socket_wrap.h"
#include "binding/tls_binding.h"
#include "binding/transport_choice.h"
#include "core/handshake/client_upgrade.h"
#include "core/handshake/handshake_errors.h"
#include "transport/errno_name.h"
#include "transport/h2_session.h"
#include "transport/h3_session.h"

namespace sockudo::binding {

Napi::Function H2ClientWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeHttp2Session",
                     {
                         InstanceMethod<&H2ClientWrap::websocket>("websocket"),
                         InstanceMethod<&H2ClientWrap::close>("close"),
                     });
}

// new NativeHttp2Session({ ip, port, host, secure, tls?, servername?, ...connection }, target):
// starts connecting; throws an Error with .code when it cannot even start.
H2ClientWrap::H2ClientWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<H2ClientWrap>(info) {
  Napi::Env env = info.Env();
  state_ = &env_state(env);
  if (!info[0].IsObject() || !info[1].IsObject()) {
    throw_type_error(env, "new NativeHttp2Session(config, target)");
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  config_ = read_socket_config(o);
  transport_reason_ = choose_transport(*state_->loop, o, *config_).reason;
  const std::string ip = get_string(o, "ip");
  host_ = get_string(o, "host");
  port_ = static_cast<uint16_t>(get_number(o, "port", 443));
  secure_ = get_bool(o, "secure", true);
  transport::TlsClientParams tls;
  const Napi::Value tls_value = o.Get("tls");
  if (!tls_value.IsUndefined()) {
    tls.context = unwrap_tls_context(env, tls_value);
    if (!tls.context || tls.context->server()) {
      throw_type_error(env, "config.tls must be a client context from createTlsContext");
      return;
    }
    tls.servername = get_string(o, "servername");
  }
  int error = 0;
  transport::LinkFailure failure;
  http3_ = get_bool(o, "http3", false);
  if (http3_) {
    if (!tls.context) {
      throw_type_error(env, "http3 needs config.tls (QUIC is always encrypted)");
      return;
    }
    session_ = transport::H3Session::create_client(*state_->loop, ip, port_, config_, tls, this, &error, &failure);
    error = -error;  // H3Session reports -errno
  } else {
    session_ = transport::H2Session::create_client(*state_->loop, ip, port_, config_, tls.context ? &tls : nullptr, this, &error,
                                                   &failure);
  }
  if (session_ == nullptr) {
    const std::string code = !failure.code.empty() ? failure.code : transport::errno_name(error, "EIO");
    Napi::Error e = Napi::Error::New(env, !failure.message.empty() ? failure.message
                                                                   : "connect " + code + " " + ip + ":" + std::to_string(port_) +
                                                                         ": " + std::strerror(error));
    e.Set("code", Napi::String::New(env, code));
    e.ThrowAsJavaScriptException();
    return;
  }
  target_ = Napi::Persistent(info[1].As<Napi::Object>());
  Ref();  // alive while the session is
}

H2ClientWrap::~H2ClientWrap() {
  if (state_->tearing_down) return;  // the loop has closed (and freed) the session
  if (session_ != nullptr) session_->detach_client();
}

// websocket({ path, protocols, headers, origin, ...connection }, wsTarget) → NativeSocket, or throws
// a TypeError with the build error's code (the request is checked before anything is sent).
Napi::Value H2ClientWrap::websocket(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject() || !info[1].IsObject()) return throw_type_error(env, "websocket(config, target)");
  if (session_ == nullptr || !session_->ready()) {
    Napi::Error e = Napi::Error::New(env, std::string(http3_ ? "the HTTP/3 session is closed" : "the HTTP/2 session is closed"));
    e.Set("code", Napi::String::New(env, "ERR_SOCKUDO_WS_HTTP2_SESSION_CLOSED"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto config = read_socket_config(o);
  config->http2 = config_->http2;
  config->http3.window_size = config_->http3.window_size;
  config->http3.connection_window_size = config_->http3.connection_window_size;
  config->http3.idle_timeout_ms = config_->http3.idle_timeout_ms;
  ClientRequest req;
  if (!read_client_request(env, o, *config, host_, port_, secure_, req)) return env.Undefined();
  auto hs = std::make_unique<handshake::ClientHandshake>(config->head_limits);
  std::vector<handshake::OwnedField> fields;
  const auto err = hs->build_connect(req.options, fields);
  if (err != handshake::BuildError::None) {
    throw_build_error(env, err);
    return env.Undefined();
  }
  Napi::Object wrap_obj = state_->socket_ctor.New({});
  SocketWrap* wrap = SocketWrap::Unwrap(wrap_obj);
  wrap->set_target(info[1].As<Napi::Object>());
  transport::Endpoint* s = session_->open_websocket(fields, std::move(hs), wrap);
  if (s == nullptr) {
    Napi::Error e = Napi::Error::New(env, std::string(http3_ ? "no new stream can be opened on this HTTP/3 session (closing, or out of stream credit)" : "no new stream can be opened on this HTTP/2 session (closing, or out of stream ids)"));
    e.Set("code", Napi::String::New(env, "ERR_SOCKUDO_WS_HTTP2_SESSION_CLOSED"));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  wrap->attach(s);
  wrap->set_transport_reason(transport_reason_);  // ws.transport: the session link's
  return wrap_obj;
}

// close(): GOAWAY; the connection ends with its last WebSocket.
Napi::Value H2ClientWrap::close(const Napi::CallbackInfo& info) {
  if (session_ != nullptr) session_->close_gracefully();
  return info.Env().Undefined();
}

void H2ClientWrap::on_session_ready(bool connect_protocol) {
  if (state_->tearing_down || target_.IsEmpty()) return;
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.h2_ready, {target_.Value(), Napi::Boolean::New(env, connect_protocol)});
}

void H2ClientWrap::on_session_failed(const transport::ClientFailure& failure) {
  session_ = nullptr;  // it ends right after this call
  if (state_->tearing_down || target_.IsEmpty()) return release();
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.h2_failed,
               {target_.Value(), Napi::String::New(env, failure.code), Napi::String::New(env, failure.message)});
  release();
}

void H2ClientWrap::on_session_closed() {
  session_ = nullptr;
  if (state_->tearing_down || target_.IsEmpty()) return release();
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.h2_closed, {target_.Value()});
  release();
}

void H2ClientWrap::release() {
  if (target_.IsEmpty()) return;
  target_.Reset();
  if (!state_->tearing_down) Unref();
}

}  // namespace sockudo::binding
