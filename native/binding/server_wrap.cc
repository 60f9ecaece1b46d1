#include "binding/server_wrap.h"

#include <cerrno>
#include <cstring>
#include <vector>

#include "binding/js_values.h"
#include "binding/socket_wrap.h"
#include "binding/tls_binding.h"
#include "transport/external_link.h"
#include "transport/h2_session.h"
#include "transport/quic_server.h"
#include "transport/errno_name.h"

namespace sockudo::binding {

std::shared_ptr<transport::SocketConfig> read_socket_config(const Napi::Object& o) {
  auto c = std::make_shared<transport::SocketConfig>();
  auto& cc = c->connection;
  cc.max_message_size = static_cast<uint64_t>(get_number(o, "maxPayloadLength", 64.0 * 1024 * 1024));
  cc.max_frame_size = static_cast<uint64_t>(get_number(o, "maxFrameSize", 16.0 * 1024 * 1024));
  cc.idle_timeout_ms = static_cast<uint64_t>(get_number(o, "idleTimeout", 120000));
  cc.auto_ping = get_bool(o, "autoPing", true);
  cc.auto_pong = get_bool(o, "autoPong", true);
  cc.echo_close_reason = get_bool(o, "echoCloseReason", false);
  cc.ping_interval_ms = static_cast<uint64_t>(get_number(o, "pingInterval", 30000));
  cc.pong_timeout_ms = static_cast<uint64_t>(get_number(o, "pongTimeout", 10000));
  cc.close_timeout_ms = static_cast<uint64_t>(get_number(o, "closeTimeout", 5000));
  c->handshake_timeout_ms = static_cast<uint64_t>(get_number(o, "handshakeTimeout", 10000));
  c->head_limits.max_head_size = static_cast<size_t>(get_number(o, "maxHeaderSize", 16384));
  c->head_limits.max_headers = static_cast<size_t>(get_number(o, "maxHeaders", 100));
  c->max_backpressure = static_cast<size_t>(get_number(o, "maxBackpressure", 1024.0 * 1024));
  c->close_on_backpressure_limit = get_bool(o, "closeOnBackpressureLimit", false);
  c->http_handoff = get_bool(o, "httpHandoff", false);
  c->text_as_buffer = get_bool(o, "textAsBuffer", false);
  c->http2.enabled = get_bool(o, "http2", false);
  c->http2.cleartext = get_bool(o, "http2Cleartext", false);
  c->http2.max_streams = static_cast<uint32_t>(get_number(o, "http2MaxStreams", 100));
  c->http2.window_size = static_cast<uint32_t>(get_number(o, "http2WindowSize", 1024.0 * 1024));
  c->http2.connection_window_size = static_cast<uint32_t>(get_number(o, "http2ConnectionWindowSize", 8.0 * 1024 * 1024));
  c->http2.idle_timeout_ms = static_cast<uint64_t>(get_number(o, "http2IdleTimeout", 120000));
  c->http3.enabled = get_bool(o, "http3", false);
  c->http3.max_streams = static_cast<uint32_t>(get_number(o, "http3MaxStreams", 100));
  c->http3.window_size = static_cast<uint32_t>(get_number(o, "http3WindowSize", 1024.0 * 1024));
  c->http3.connection_window_size = static_cast<uint32_t>(get_number(o, "http3ConnectionWindowSize", 8.0 * 1024 * 1024));
  c->http3.idle_timeout_ms = static_cast<uint64_t>(get_number(o, "http3IdleTimeout", 30000));
  c->http3.retry_above = static_cast<size_t>(get_number(o, "http3RetryAbove", 64));
  // compression: { enabled, sharedCompressor, sharedDecompressor, windowBits, memLevel, level,
  // decompressorWindowBits, threshold }, validated by lib/options.ts. "Compressor" is always
  // ours, "decompressor" the peer's, whatever the role.
  const Napi::Value cv = o.Get("compression");
  if (cv.IsObject() && get_bool(cv.As<Napi::Object>(), "enabled", false)) {
    const Napi::Object z = cv.As<Napi::Object>();
    const bool shared_compressor = get_bool(z, "sharedCompressor", false);
    const bool shared_decompressor = get_bool(z, "sharedDecompressor", false);
    const auto window = static_cast<uint8_t>(get_number(z, "windowBits", 15));
    const auto peer_window = static_cast<uint8_t>(get_number(z, "decompressorWindowBits", 15));
    c->deflate.deflater.window_bits = window;
    c->deflate.deflater.mem_level = static_cast<uint8_t>(get_number(z, "memLevel", 8));
    c->deflate.deflater.level = static_cast<uint8_t>(get_number(z, "level", 1));
    c->deflate.threshold = static_cast<uint32_t>(get_number(z, "threshold", 0));
    // Server: RFC 7692 §7.1.1 / §7.1.2 parameters it answers with.
    c->deflate_server.enabled = true;
    c->deflate_server.server_no_context_takeover = shared_compressor;
    c->deflate_server.client_no_context_takeover = shared_decompressor;
    c->deflate_server.server_max_window_bits = window;
    c->deflate_server.client_max_window_bits = peer_window;
    // Client: the same wishes as an offer.
    c->offer_deflate = true;
    c->deflate_offer.client_no_context_takeover = shared_compressor;
    c->deflate_offer.server_no_context_takeover = shared_decompressor;
    c->deflate_offer.server_max_window_bits = peer_window < 15 ? peer_window : 0;
    c->deflate_offer.client_max_window_bits = true;
    c->deflate_offer.client_max_window_bits_value = window < 15 ? window : 0;
  }
  return c;
}

Napi::Function ServerWrap::define(Napi::Env env) {
  return DefineClass(env, "NativeServer",
                     {
                         InstanceMethod<&ServerWrap::listen>("listen"),
                         InstanceMethod<&ServerWrap::address>("address"),
                         InstanceMethod<&ServerWrap::close>("close"),
                         InstanceMethod<&ServerWrap::adopt>("adopt"),
                         InstanceMethod<&ServerWrap::adopt_duplex>("adoptDuplex"),
                         InstanceMethod<&ServerWrap::destroy_pending>("destroyPending"),
                         InstanceMethod<&ServerWrap::adopt_stream>("adoptStream"),
                         InstanceMethod<&ServerWrap::pending_count>("pendingCount"),
                         InstanceMethod<&ServerWrap::set_secure_context>("setSecureContext"),
                         InstanceMethod<&ServerWrap::transport>("transport"),
                     });
}

// new NativeServer(config, jsServer)
ServerWrap::ServerWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ServerWrap>(info) {
  state_ = &env_state(info.Env());
  if (!info[0].IsObject() || !info[1].IsObject()) {
    throw_type_error(info.Env(), "new NativeServer(config, server)");
    return;
  }
  config_ = read_socket_config(info[0].As<Napi::Object>());
  const Napi::Value tls = info[0].As<Napi::Object>().Get("tls");
  if (tls.IsObject()) {
    auto contexts = read_tls_server(info.Env(), tls);
    if (!contexts) {
      throw_type_error(info.Env(), "config.tls must be { context, sni } made by createTlsContext");
      return;
    }
    config_->tls_server = std::make_shared<transport::TlsServer>();
    config_->tls_server->current = std::move(contexts);
    config_->tls_handshake_timeout_ms = static_cast<uint64_t>(get_number(tls.As<Napi::Object>(), "handshakeTimeout", 0));
  }
  // HTTP/3: the QUIC variants of the TLS contexts (TLS 1.3, ALPN h3), made by lib/tls.ts.
  if (config_->http3.enabled) {
    const Napi::Value quic = tls.IsObject() ? tls.As<Napi::Object>().Get("quic") : info.Env().Undefined();
    auto contexts = read_tls_server(info.Env(), quic);
    if (!contexts) {
      throw_type_error(info.Env(), "http3 needs config.tls.quic: { context, sni } made by createTlsContext({ quic: true })");
      return;
    }
    config_->http3.tls = std::make_shared<transport::TlsServer>();
    config_->http3.tls->current = std::move(contexts);
  }
  // The transport: io_uring when asked for and the loop has a ring, else epoll with the reason.
  // A plain HTTP request's connection is handed to Node by descriptor, with the bytes read so
  // far: a receive the ring may still complete would take bytes Node never sees.
  transport_ = choose_transport(*state_->loop, info[0].As<Napi::Object>(), *config_,
                                config_->http_handoff ? "httpHandler hands connections to Node by descriptor (epoll only)" : "");
  js_server_ = Napi::Persistent(info[1].As<Napi::Object>());
}

// transport() → { name: 'io_uring' | 'epoll', reason }
Napi::Value ServerWrap::transport(const Napi::CallbackInfo& info) { return transport_.to_js(info.Env()); }

ServerWrap::~ServerWrap() {
  // At environment teardown the loop has already closed (and freed) everything.
  if (state_->tearing_down) return;
  if (listener_ != nullptr) listener_->close();
  if (quic_ != nullptr) quic_->destroy();
  // Sockets outlive the server object only if JS dropped it while connections were pending; they
  // must not call back into freed memory.
  for (transport::Endpoint* s : std::vector<transport::Endpoint*>(sockets_.begin(), sockets_.end())) s->destroy();
  for (transport::H2Session* s : std::vector<transport::H2Session*>(sessions_.begin(), sessions_.end())) s->destroy();
}

// listen(host, port, backlog, reusePort, ipv6Only) → undefined, or throws an Error with .code (EADDRINUSE, ...)
Napi::Value ServerWrap::listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  transport::ListenOptions o;
  o.host = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  o.port = static_cast<uint16_t>(info[1].IsNumber() ? info[1].As<Napi::Number>().Uint32Value() : 0);
  o.backlog = info[2].IsNumber() ? info[2].As<Napi::Number>().Int32Value() : 511;
  o.reuse_port = info[3].ToBoolean().Value();
  o.ipv6_only = info[4].ToBoolean().Value();
  // With port 0 the kernel picks the TCP port; its number may be in use over UDP (an outgoing
  // QUIC client's socket, say): pick again, a few times, rather than fail.
  const int attempts = config_->http3.enabled && o.port == 0 ? 16 : 1;
  for (int attempt = 1;; ++attempt) {
    int error = 0;
    listener_ = transport::Listener::create(*state_->loop, o, config_, this, &error);
    if (listener_ == nullptr) {
      const std::string name = transport::errno_name(error, "EIO");
      Napi::Error err = Napi::Error::New(env, name + ": " + std::strerror(error) + ", listen " +
                                                  (o.host.empty() ? "::" : o.host) + ":" + std::to_string(o.port));
      err.Set("code", Napi::String::New(env, name));
      err.Set("errno", Napi::Number::New(env, -error));
      err.Set("syscall", Napi::String::New(env, "listen"));
      err.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!config_->http3.enabled) break;
    // The same port number over UDP (what Alt-Svc advertises).
    transport::ListenOptions u = o;
    u.port = listener_->address().port;
    config_->http3.alt_svc = "h3=\":" + std::to_string(u.port) + "\"";
    quic_ = transport::QuicServer::create(*state_->loop, u, config_, this, &error);
    if (quic_ != nullptr) break;
    listener_->close();
    listener_ = nullptr;
    if (error == -EADDRINUSE && attempt < attempts) continue;
    const std::string name = transport::errno_name(-error, "EIO");
    Napi::Error err = Napi::Error::New(env, name + ": " + std::strerror(-error) + ", bind udp " +
                                                (o.host.empty() ? "::" : o.host) + ":" + std::to_string(u.port));
    err.Set("code", Napi::String::New(env, name));
    err.Set("errno", Napi::Number::New(env, error));
    err.Set("syscall", Napi::String::New(env, "bind"));
    err.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return env.Undefined();
}

Napi::Value ServerWrap::address(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (listener_ == nullptr) return env.Null();
  Napi::Object a = Napi::Object::New(env);
  a.Set("address", listener_->address().ip);
  a.Set("family", listener_->address().family == 6 ? "IPv6" : "IPv4");
  a.Set("port", listener_->address().port);
  return a;
}

Napi::Value ServerWrap::close(const Napi::CallbackInfo& info) {
  if (listener_ != nullptr) {
    listener_->close();
    listener_ = nullptr;
  }
  closed_ = true;
  // HTTP/3 connections: GOAWAY, then CONNECTION_CLOSE after their last WebSocket; the UDP socket
  // closes after the last connection (the QUIC endpoint frees itself then).
  if (quic_ != nullptr) {
    quic_->close_gracefully();
    quic_ = nullptr;
  }
  // HTTP/2 connections take no new streams (GOAWAY) and end with their last WebSocket.
  for (transport::H2Session* s : std::vector<transport::H2Session*>(sessions_.begin(), sessions_.end())) s->close_gracefully();
  maybe_release();
  return info.Env().Undefined();
}

// The JS server is held strongly while it can still receive events (listening, or sockets of it
// alive), then released so it can be collected.
void ServerWrap::maybe_release() {
  if (closed_ && sockets_.empty() && sessions_.empty() && !js_server_.IsEmpty()) js_server_.Reset();
}

// adopt(fd, initial: Buffer, tag: object): takes over a socket from Node (the caller passes an fd
// it will close itself; we work on our own dup), with the bytes Node already read.
Napi::Value ServerWrap::adopt(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView initial;
  if (!info[0].IsNumber() || !read_bytes(info[1], initial) || !info[2].IsObject())
    return throw_type_error(env, "adopt(fd, initial, tag)");
  const int fd = transport::dup_socket(info[0].As<Napi::Number>().Int32Value());
  if (fd < 0) {
    Napi::Error err = Napi::Error::New(env, std::string("dup failed: ") + std::strerror(-fd));
    err.Set("code", Napi::String::New(env, "ERR_SOCKUDO_WS_ADOPT"));
    err.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  transport::set_nonblocking(fd);
  transport::set_nodelay(fd);
  std::vector<uint8_t> copy(initial.data, initial.data + initial.len);
  transport::Endpoint* s = transport::Endpoint::create_server(*state_->loop, fd, config_, this, nullptr, 0);
  tags_.emplace(s, Napi::Persistent(info[2].As<Napi::Object>()));
  if (!copy.empty()) s->receive_external(copy.data(), copy.size());
  return env.Undefined();
}

// adoptDuplex(initial: Buffer, target: object) → NativeSocket: a connection whose bytes come from
// (feed/end) and go to (write/end handlers) a JS Duplex, such as a TLS socket.
Napi::Value ServerWrap::adopt_duplex(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteView initial;
  if (!read_bytes(info[0], initial) || !info[1].IsObject()) return throw_type_error(env, "adoptDuplex(initial, target)");
  std::vector<uint8_t> copy(initial.data, initial.data + initial.len);
  transport::Endpoint* s = transport::Endpoint::create_server(*state_->loop, -1, config_, this, nullptr, 0);
  Napi::Object wrap = SocketWrap::create(env, s);
  SocketWrap::Unwrap(wrap)->set_target(info[1].As<Napi::Object>());
  if (!copy.empty()) s->receive_external(copy.data(), copy.size());
  return wrap;
}

// adoptStream(fields: [name, value, ...] with pseudo-header fields first, target): a stream of
// Node's http2 server (handleStream). The request block is checked by the core (RFC 8441 §4–5);
// a valid one becomes a socket awaiting the upgrade decision (returned; its answer reaches JS
// through the respond handler), an invalid one is answered by JS with the returned
// [fields, body] refusal.
Napi::Value ServerWrap::adopt_stream(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray() || !info[1].IsObject()) return throw_type_error(env, "adoptStream(fields, target)");
  Napi::Array flat = info[0].As<Napi::Array>();
  auto request = std::make_unique<handshake::ConnectRequest>(config_->head_limits);
  for (uint32_t i = 0; i + 1 < flat.Length(); i += 2) {
    Napi::Value n = flat.Get(i), v = flat.Get(i + 1);
    if (!n.IsString() || !v.IsString()) return throw_type_error(env, "adoptStream(fields): names and values must be strings");
    request->add(n.As<Napi::String>().Utf8Value(), v.As<Napi::String>().Utf8Value());
  }
  handshake::UpgradeRequest upgrade;
  const handshake::UpgradeVerdict verdict = handshake::validate_extended_connect(*request, upgrade);
  if (verdict.kind != handshake::UpgradeKind::Valid || closed_) {
    std::vector<handshake::OwnedField> fields;
    const std::string_view body = closed_ && verdict.kind == handshake::UpgradeKind::Valid ? "the server is closing" : verdict.reason;
    handshake::build_error_fields(verdict.kind == handshake::UpgradeKind::Valid ? 503 : verdict.status, body, {},
                                  verdict.version_hint, fields);
    Napi::Array out = Napi::Array::New(env, fields.size() * 2);
    for (size_t i = 0; i < fields.size(); i++) {
      out.Set(static_cast<uint32_t>(2 * i), Napi::String::New(env, fields[i].name));
      out.Set(static_cast<uint32_t>(2 * i + 1), Napi::String::New(env, fields[i].value));
    }
    Napi::Array refusal = Napi::Array::New(env, 2);
    refusal.Set(0u, out);
    refusal.Set(1u, Napi::String::New(env, body.data(), body.size()));
    return refusal;
  }
  transport::Endpoint* s = transport::Endpoint::create_stream(*state_->loop, std::make_unique<transport::ExternalLink>(true), config_,
                                                              this, std::move(request), upgrade, transport::SocketAddress{}, false);
  Napi::Object wrap = SocketWrap::create(env, s);
  SocketWrap::Unwrap(wrap)->set_target(info[1].As<Napi::Object>());
  s->announce();
  return wrap;
}

// setSecureContext({ context, sni }): connections accepted from now on use these certificates;
// open ones keep theirs.
Napi::Value ServerWrap::set_secure_context(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto contexts = read_tls_server(env, info[0]);
  if (!contexts || !config_->tls_server) return throw_type_error(env, "setSecureContext({ context, sni }) on a TLS server");
  config_->tls_server->current = std::move(contexts);
  if (config_->http3.tls && info[0].IsObject()) {
    auto quic = read_tls_server(env, info[0].As<Napi::Object>().Get("quic"));
    if (quic) config_->http3.tls->current = std::move(quic);
  }
  return env.Undefined();
}

Napi::Value ServerWrap::destroy_pending(const Napi::CallbackInfo& info) {
  for (transport::Endpoint* s : std::vector<transport::Endpoint*>(sockets_.begin(), sockets_.end())) {
    if (!s->is_open()) s->destroy();
  }
  return info.Env().Undefined();
}

Napi::Value ServerWrap::pending_count(const Napi::CallbackInfo& info) {
  size_t n = 0;
  for (transport::Endpoint* s : sockets_) n += s->is_open() ? 0 : 1;
  return Napi::Number::New(info.Env(), static_cast<double>(n));
}

void ServerWrap::on_socket_created(transport::Endpoint& socket) { sockets_.insert(&socket); }

void ServerWrap::on_upgrade_request(transport::Endpoint& socket, const handshake::HeaderList& head,
                                    const handshake::UpgradeRequest& request) {
  Napi::Env env = Env();
  if (js_server_.IsEmpty()) {
    socket.reject(503, "", {});
    return;
  }
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  Napi::Value wrap;
  Napi::Value tag = env.Undefined();
  if (socket.handler() != nullptr) {  // external: the wrap exists since adoptDuplex
    wrap = static_cast<SocketWrap*>(socket.handler())->Value();
  } else {
    wrap = SocketWrap::create(env, &socket);
  }
  // ws.transport: the server's choice, unless this connection could not follow it.
  const std::string_view name = socket.transport_name();
  SocketWrap* sw = SocketWrap::Unwrap(wrap.As<Napi::Object>());
  if (name == transport_.name()) {
    if (!follow_reason_) follow_reason_ = std::make_shared<const std::string>("the server's: " + transport_.reason);
    sw->set_transport_reason(follow_reason_);
  } else {
    sw->set_transport_reason(std::string(name == "duplex" ? "a JS Duplex carries its bytes" : "adopted descriptor is not a TCP socket"));
  }
  tag = tag_of(socket);
  Napi::Array headers = Napi::Array::New(env, head.header_count() * 2);
  for (size_t i = 0; i < head.header_count(); i++) {
    const auto name = head.header_name(i);
    const auto value = head.header_value(i);
    headers.Set(static_cast<uint32_t>(2 * i), Napi::String::New(env, name.data(), name.size()));
    headers.Set(static_cast<uint32_t>(2 * i + 1), Napi::String::New(env, value.data(), value.size()));
  }
  Napi::Array protocols = Napi::Array::New(env, request.protocols.size());
  for (size_t i = 0; i < request.protocols.size(); i++)
    protocols.Set(static_cast<uint32_t>(i), Napi::String::New(env, request.protocols[i].data(), request.protocols[i].size()));
  const auto& r = socket.remote();
  call_handler(*state_, env, state_->handlers.upgrade,
               {js_server_.Value(), wrap, Napi::String::New(env, request.method.data(), request.method.size()),
                Napi::String::New(env, request.target.data(), request.target.size()), headers,
                r.family ? Napi::String::New(env, r.ip) : env.Undefined(), Napi::Number::New(env, r.port), protocols, tag,
                Napi::Boolean::New(env, socket.encrypted()), Napi::Number::New(env, socket.http_version()),
                Napi::String::New(env, request.host.data(), request.host.size())});
}

Napi::Value ServerWrap::tag_of(transport::Endpoint& socket) {
  auto t = tags_.find(&socket);
  if (t != tags_.end()) return t->second.Value();
  if (socket.external() && socket.handler() != nullptr)
    return static_cast<SocketWrap*>(socket.handler())->target_object();
  return Env().Undefined();
}

// Adopted sockets (handleUpgrade) have a caller waiting on them: tell JS the transport answered.
void ServerWrap::on_handshake_rejected(transport::Endpoint& socket, int status) {
  if (js_server_.IsEmpty()) return;
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  Napi::Value tag = tag_of(socket);
  if (tag.IsUndefined()) return;
  call_handler(*state_, env, state_->handlers.upgrade_failed, {js_server_.Value(), tag, Napi::Number::New(env, status)});
}

// An adopted socket's tag (the handleUpgrade() call's context, which holds the request and Node's
// socket) is only needed until the application's decision: keeping it for the connection's life
// kept ~2.5 KB of JS objects per handleUpgrade connection alive.
void ServerWrap::on_handshake_decided(transport::Endpoint& socket) { tags_.erase(&socket); }

// tlsError(server, code, message, remoteAddress, remotePort): the server emits 'tlsClientError'.
void ServerWrap::on_tls_failure(transport::Endpoint& socket, const transport::LinkFailure& failure) {
  if (js_server_.IsEmpty() || state_->handlers.tls_error.IsEmpty()) return;
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  const auto& r = socket.remote();
  call_handler(*state_, env, state_->handlers.tls_error,
               {js_server_.Value(), Napi::String::New(env, failure.code), Napi::String::New(env, failure.message),
                r.family ? Napi::String::New(env, r.ip) : env.Undefined(), Napi::Number::New(env, r.port)});
}

// httpRequest(server, fd, bytes): a non-upgrade request on a plain TCP connection (the server's
// httpHandler option). JS gets its own dup of the descriptor (the endpoint closes ours) and the
// bytes read so far; Node's http server takes the connection from there.
bool ServerWrap::on_http_request(transport::Endpoint& socket, int fd, std::span<const uint8_t> bytes) {
  if (js_server_.IsEmpty() || closed_ || state_->handlers.http_request.IsEmpty() || tags_.count(&socket) != 0 || socket.external()) return false;
  const int copy = transport::dup_socket(fd);
  if (copy < 0) return false;
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  Napi::Buffer<uint8_t> data = Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size());
  call_handler(*state_, env, state_->handlers.http_request, {js_server_.Value(), Napi::Number::New(env, copy), data});
  return true;
}

void ServerWrap::on_session_gone(transport::H2Session& session) {
  sessions_.erase(&session);
  maybe_release();
}

void ServerWrap::on_socket_gone(transport::Endpoint& socket) {
  sockets_.erase(&socket);
  tags_.erase(&socket);
  maybe_release();
}

}  // namespace sockudo::binding
