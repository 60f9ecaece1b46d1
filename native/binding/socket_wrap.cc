#include "binding/socket_wrap.h"

#include <simdutf.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "binding/js_values.h"
#include "core/handshake/handshake_errors.h"
#include "core/protocol/errors.h"

namespace sockudo::binding {

namespace {

// Keeps a JS Buffer alive while the output queue borrows its bytes; released on the JS thread
// when the bytes have been written (commit happens in loop callbacks on this thread).
class JsBufferOwner final : public io::BufferOwner {
 public:
  JsBufferOwner(napi_env env, napi_value buffer) : env_(env) { napi_create_reference(env, buffer, 1, &ref_); }
  ~JsBufferOwner() override { napi_delete_reference(env_, ref_); }

 private:
  napi_env env_;
  napi_ref ref_ = nullptr;
};

// Owns bytes produced natively (a long string's UTF-8) while the output queue borrows them:
// malloc'd, never zero-filled (the encoder writes every byte that is sent).
class HeapOwner final : public io::BufferOwner {
 public:
  explicit HeapOwner(size_t capacity) : data(static_cast<uint8_t*>(std::malloc(capacity))) {}
  ~HeapOwner() override { std::free(data); }
  HeapOwner(const HeapOwner&) = delete;
  HeapOwner& operator=(const HeapOwner&) = delete;
  // Gives back the unused tail after encoding (glibc shrinks in place).
  void shrink(size_t len) {
    if (void* p = std::realloc(data, len > 0 ? len : 1)) data = static_cast<uint8_t*>(p);
  }
  uint8_t* data;
};

// Payloads at least this long are borrowed rather than copied into the output queue.
constexpr size_t kBorrowThreshold = 16 * 1024;

// send()'s answer for bytes sent as text that are not UTF-8 (the transport's results are 0..4):
// lib/websocket.ts throws its InvalidArgumentValueError (RFC 6455 §5.6: text is UTF-8).
constexpr int kSendNotUtf8 = 5;

}  // namespace

Napi::Function SocketWrap::define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "NativeSocket",
                     {
                         InstanceMethod<&SocketWrap::accept>("accept"),
                         InstanceMethod<&SocketWrap::reject>("reject"),
                         InstanceMethod<&SocketWrap::start>("start"),
                         InstanceMethod<&SocketWrap::extensions>("extensions"),
                         InstanceMethod<&SocketWrap::subscribe>("subscribe"),
                         InstanceMethod<&SocketWrap::unsubscribe>("unsubscribe"),
                         InstanceMethod<&SocketWrap::is_subscribed>("isSubscribed"),
                         InstanceMethod<&SocketWrap::topics>("topics"),
                         InstanceMethod<&SocketWrap::unsubscribe_all>("unsubscribeAll"),
                         InstanceMethod<&SocketWrap::publish>("publish"),
                         InstanceMethod<&SocketWrap::ping>("ping"),
                         InstanceMethod<&SocketWrap::pong>("pong"),
                         InstanceMethod<&SocketWrap::close>("close"),
                         InstanceMethod<&SocketWrap::terminate>("terminate"),
                         InstanceMethod<&SocketWrap::pause>("pause"),
                         InstanceMethod<&SocketWrap::resume>("resume"),
                         InstanceMethod<&SocketWrap::flush>("flush"),
                         InstanceMethod<&SocketWrap::buffered_amount>("bufferedAmount"),
                         InstanceMethod<&SocketWrap::remote>("remote"),
                         InstanceMethod<&SocketWrap::transport>("transport"),
                         InstanceMethod<&SocketWrap::feed>("feed"),
                         InstanceMethod<&SocketWrap::end>("end"),
                         InstanceMethod<&SocketWrap::drained>("drained"),
                         InstanceMethod<&SocketWrap::want_control>("wantControl"),
                     });
  Napi::Object proto = ctor.Get("prototype").As<Napi::Object>();
  const napi_property_descriptor send = {"send", nullptr, &SocketWrap::send_entry, nullptr, nullptr, nullptr, napi_default_method,
                                         &env_state(env)};
  NAPI_THROW_IF_FAILED(env, napi_define_properties(env, proto, 1, &send), Napi::Function());
  return ctor;
}

Napi::Object SocketWrap::create(Napi::Env env, transport::Endpoint* socket) {
  Napi::Object obj = env_state(env).socket_ctor.New({});
  SocketWrap* wrap = SocketWrap::Unwrap(obj);
  wrap->attach(socket);
  return obj;
}

SocketWrap::SocketWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SocketWrap>(info) {
  state_ = &env_state(info.Env());
}

SocketWrap::~SocketWrap() {
  // Only reachable once detached (attached wraps hold a reference to themselves).
  if (socket_ != nullptr) socket_->set_handler(nullptr);
}

void SocketWrap::attach(transport::Endpoint* socket) {
  socket_ = socket;
  transport_name_ = socket->transport_name();
  text_as_buffer_ = socket->config().text_as_buffer;
  socket->set_handler(this);
  Ref();
}

void SocketWrap::set_target(Napi::Object target) { target_ = Napi::Persistent(target); }

Napi::Value SocketWrap::target_value() { return target_.IsEmpty() ? Env().Undefined() : target_.Value(); }

// --- handshake decision (server) ---------------------------------------------------------------

// accept(target, protocol: string, headers: string[] (name, value, ...)) → error code string or undefined
Napi::Value SocketWrap::accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (socket_ == nullptr || socket_->phase() != transport::EndpointPhase::AwaitingDecision)
    return Napi::String::New(env, "WS_ERR_NOT_PENDING");
  if (!info[0].IsObject()) return throw_type_error(env, "accept(target, protocol, headers)");
  std::string protocol = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  HeaderList headers;
  if (!read_header_list(info[2], headers)) return throw_type_error(env, "headers must be an array of strings");
  set_target(info[0].As<Napi::Object>());
  handshake::AcceptOptions options{protocol, {}, headers.fields()};
  const auto err = socket_->accept(this, options);
  if (err != handshake::BuildError::None) {
    target_.Reset();
    return Napi::String::New(env, handshake::build_error_name(err));
  }
  return env.Undefined();
}

// reject(status, headers, body: string | Buffer)
Napi::Value SocketWrap::reject(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (socket_ == nullptr || socket_->phase() != transport::EndpointPhase::AwaitingDecision) return env.Undefined();
  const int status = info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 400;
  HeaderList headers;
  if (!read_header_list(info[1], headers)) return throw_type_error(env, "headers must be an array of strings");
  ByteView body;
  std::string body_storage;
  if (!read_bytes_or_string(info[2], body, body_storage)) body = {};
  const auto err = socket_->reject(status, std::string_view(reinterpret_cast<const char*>(body.data), body.len),
                                   headers.fields());
  if (err != handshake::BuildError::None) return Napi::String::New(env, handshake::build_error_name(err));
  return env.Undefined();
}

// extensions() → the Sec-WebSocket-Extensions value this connection agreed ('' when none).
Napi::Value SocketWrap::extensions(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), socket_ ? socket_->extensions() : std::string());
}

Napi::Value SocketWrap::start(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->start();
  return info.Env().Undefined();
}

// --- sending -----------------------------------------------------------------------------------

// send(data: string | Uint8Array, isBinary: boolean, compress) → 0 success, 1 backpressure,
// 2 dropped, 3 closed, 4 invalid, 5 (kSendNotUtf8) bytes sent as text that are not UTF-8.
// Bytes sent as text are validated here (one crossing instead of two) and sent as they are.
napi_value SocketWrap::send_entry(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value self;
  void* data;
  if (napi_get_cb_info(env, info, &argc, argv, &self, &data) != napi_ok) return nullptr;
  for (size_t i = argc; i < 3; i++) napi_get_undefined(env, &argv[i]);
  const Delivering& d = static_cast<EnvState*>(data)->delivering;
  SocketWrap* wrap = nullptr;
  bool same = false;
  if (d.wrap != nullptr && napi_strict_equals(env, self, d.self, &same) == napi_ok && same) {
    wrap = d.wrap;
  } else {
    wrap = SocketWrap::Unwrap(Napi::Object(env, self));
    if (wrap == nullptr) {
      napi_throw_type_error(env, nullptr, "send() called on an object that is not a NativeSocket");
      return nullptr;
    }
  }
  return wrap->send(env, argv[0], argv[1], argv[2]);
}

napi_value SocketWrap::send(napi_env raw_env, napi_value data, napi_value binary_arg, napi_value compress_arg) {
  Napi::Env env(raw_env);
  const Napi::Value payload_value(raw_env, data);
  // lib/ passes booleans: read them without a coercion (napi_coerce_to_bool makes a handle).
  bool binary = false;
  bool compress = true;
  napi_get_value_bool(env, binary_arg, &binary);
  napi_get_value_bool(env, compress_arg, &compress);
  const auto opcode = binary ? protocol::Opcode::Binary : protocol::Opcode::Text;
  transport::SendResult r;
  if (payload_value.IsString()) {
    if (socket_ == nullptr) return Napi::Number::New(env, static_cast<int>(transport::SendResult::NotOpen));
    // One encoding pass. The string's length in UTF-16 units is O(1) to read, and UTF-8 needs at
    // most 3 bytes per unit, so a buffer of 3 × units always suffices: a short string is encoded
    // into the stack, a long one into an uninitialized heap buffer that is then shrunk and lent
    // to the output queue (a scan to measure first, and zero-filling, cost more than they save).
    size_t units = 0;
    napi_get_value_string_utf16(env, payload_value, nullptr, 0, &units);
    uint8_t scratch[4096];
    size_t len = 0;
    if (units * 3 < sizeof scratch) {
      napi_get_value_string_utf8(env, payload_value, reinterpret_cast<char*>(scratch), sizeof scratch, &len);
      r = socket_->send(opcode, {scratch, len}, nullptr, compress);
      return Napi::Number::New(env, static_cast<int>(r));
    }
    auto owner = std::make_unique<HeapOwner>(units * 3 + 1);
    if (owner->data == nullptr) {
      Napi::Error err = Napi::Error::New(env, "send(): out of memory encoding the message");
      err.Set("code", Napi::String::New(env, "ERR_SOCKUDO_WS_NO_MEMORY"));
      err.ThrowAsJavaScriptException();
      return env.Undefined();
    }
    napi_get_value_string_utf8(env, payload_value, reinterpret_cast<char*>(owner->data), units * 3 + 1, &len);
    if (len >= kBorrowThreshold) {
      owner->shrink(len);
      const std::span<const uint8_t> payload(owner->data, len);
      r = socket_->send(opcode, payload, std::move(owner), compress);
    } else {
      r = socket_->send(opcode, {owner->data, len}, nullptr, compress);
    }
  } else {
    ByteView view;
    if (!read_bytes(payload_value, view)) return throw_type_error(env, "send(data) expects a string or Uint8Array");
    if (opcode == protocol::Opcode::Text && !simdutf::validate_utf8(reinterpret_cast<const char*>(view.data), view.len))
      return Napi::Number::New(env, kSendNotUtf8);
    if (socket_ == nullptr) return Napi::Number::New(env, static_cast<int>(transport::SendResult::NotOpen));
    std::unique_ptr<io::BufferOwner> owner;
    if (view.len >= kBorrowThreshold) owner = std::make_unique<JsBufferOwner>(env, payload_value);
    // The reference keeps the view alive, not its memory in place: JS can transfer the ArrayBuffer.
    const bool borrowed = owner != nullptr;
    r = socket_->send(opcode, {view.data, view.len}, std::move(owner), compress, borrowed);
  }
  return Napi::Number::New(env, static_cast<int>(r));
}

Napi::Value SocketWrap::control_send(const Napi::CallbackInfo& info, bool is_ping) {
  Napi::Env env = info.Env();
  if (socket_ == nullptr) return Napi::Number::New(env, static_cast<int>(transport::SendResult::NotOpen));
  ByteView view;
  std::string storage;
  if (!read_bytes_or_string(info[0], view, storage)) view = {};
  const std::span<const uint8_t> payload(view.data, view.len);
  const auto r = is_ping ? socket_->ping(payload) : socket_->pong(payload);
  return Napi::Number::New(env, static_cast<int>(r));
}

Napi::Value SocketWrap::ping(const Napi::CallbackInfo& info) { return control_send(info, true); }
Napi::Value SocketWrap::pong(const Napi::CallbackInfo& info) { return control_send(info, false); }

// close(code, reason: string) → undefined, or the SendStatus name when refused
Napi::Value SocketWrap::close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (socket_ == nullptr) return Napi::String::New(env, "WS_ERR_NOT_OPEN");
  const uint16_t code = info[0].IsNumber() ? static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value()) : 1005;
  std::string reason = info[1].IsString() ? info[1].As<Napi::String>().Utf8Value() : std::string();
  const auto st = socket_->close(code, {reinterpret_cast<const uint8_t*>(reason.data()), reason.size()});
  if (st != protocol::SendStatus::Ok) return Napi::String::New(env, protocol::send_status_name(st));
  return env.Undefined();
}

Napi::Value SocketWrap::terminate(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->terminate();
  return info.Env().Undefined();
}

Napi::Value SocketWrap::pause(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->pause_reading();
  return info.Env().Undefined();
}

Napi::Value SocketWrap::resume(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->resume_reading();
  return info.Env().Undefined();
}

Napi::Value SocketWrap::flush(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->flush();
  return info.Env().Undefined();
}

Napi::Value SocketWrap::buffered_amount(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), socket_ != nullptr ? static_cast<double>(socket_->buffered_amount()) : 0);
}

// remote() → [address, port, family] or undefined
Napi::Value SocketWrap::remote(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (socket_ == nullptr || socket_->remote().family == 0) return env.Undefined();
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::String::New(env, socket_->remote().ip));
  a.Set(1u, Napi::Number::New(env, socket_->remote().port));
  a.Set(2u, Napi::String::New(env, socket_->remote().family == 6 ? "IPv6" : "IPv4"));
  return a;
}

// transport() → [name: 'io_uring' | 'epoll' | 'duplex', reason: string]
Napi::Value SocketWrap::transport(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::String::New(env, transport_name_));
  a.Set(1u, Napi::String::New(env, transport_reason_ ? *transport_reason_ : std::string()));
  return a;
}

// feed(chunk: Uint8Array): bytes from an external Duplex
Napi::Value SocketWrap::feed(const Napi::CallbackInfo& info) {
  ByteView view;
  if (socket_ != nullptr && read_bytes(info[0], view)) socket_->receive_external(view.data, view.len);
  return info.Env().Undefined();
}

// end(): the external Duplex ended
Napi::Value SocketWrap::end(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->external_eof();
  return info.Env().Undefined();
}

// drained(): the external Duplex emitted 'drain'
Napi::Value SocketWrap::drained(const Napi::CallbackInfo& info) {
  if (socket_ != nullptr) socket_->external_drained();
  return info.Env().Undefined();
}

// wantControl(ping: boolean, pong: boolean): whether JS has 'ping' / 'pong' listeners
Napi::Value SocketWrap::want_control(const Napi::CallbackInfo& info) {
  want_ping_ = info[0].ToBoolean().Value();
  want_pong_ = info[1].ToBoolean().Value();
  return info.Env().Undefined();
}

// --- events ------------------------------------------------------------------------------------

namespace {

// Marks the socket whose 'message' handler runs (EnvState::delivering) for send_entry's fast path.
class DeliveringScope {
 public:
  DeliveringScope(Delivering& slot, SocketWrap* wrap, napi_value self) : slot_(slot), saved_(slot) { slot_ = {wrap, self}; }
  ~DeliveringScope() { slot_ = saved_; }
  DeliveringScope(const DeliveringScope&) = delete;
  DeliveringScope& operator=(const DeliveringScope&) = delete;

 private:
  Delivering& slot_;
  Delivering saved_;
};

}  // namespace

void SocketWrap::on_message(protocol::Opcode opcode, std::span<const uint8_t> data, bool) {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  DeliveringScope delivering(state_->delivering, this, Value());
  napi_value value;
  if (opcode == protocol::Opcode::Text && !text_as_buffer_) {
    // Already validated UTF-8. Pure ASCII (the common case for JSON) becomes a one-byte string
    // without a UTF-8 decode.
    if (simdutf::validate_ascii(reinterpret_cast<const char*>(data.data()), data.size())) {
      napi_create_string_latin1(env, reinterpret_cast<const char*>(data.data()), data.size(), &value);
    } else {
      napi_create_string_utf8(env, reinterpret_cast<const char*>(data.data()), data.size(), &value);
    }
  } else if (data.size() <= MessagePool::kLargest) {
    // Binary (or text with textAsBuffer: validated UTF-8): copied into the pool; lib/ makes the
    // Buffer view (handler arguments 4 and 5: offset and length).
    MessagePool& pool = state_->message_pool;
    // lib/ marks each pool untransferable; should one be detached anyway, its memory is no longer
    // ours to write (checked on this thread, where a detach would happen).
    bool detached = false;
    if (!pool.buffer.IsEmpty() && napi_is_detached_arraybuffer(env, pool.buffer.Value(), &detached) == napi_ok && detached)
      pool.used = MessagePool::kSize;
    // (An empty message fits anywhere, but needs a pool to be a view of: the first one makes it.)
    if (pool.buffer.IsEmpty() || pool.used + data.size() > MessagePool::kSize) {
      void* bytes = nullptr;
      napi_value ab;
      if (napi_create_arraybuffer(env, MessagePool::kSize, &bytes, &ab) != napi_ok) return;  // out of memory: a pending exception
      pool.buffer = Napi::Persistent(Napi::ArrayBuffer(env, ab));
      pool.data = static_cast<uint8_t*>(bytes);
      pool.used = 0;
    }
    const size_t offset = pool.used;
    if (!data.empty()) std::memcpy(pool.data + offset, data.data(), data.size());
    pool.used = (offset + data.size() + 7) & ~size_t{7};  // views stay 8-byte aligned
    call_handler(*state_, env, state_->handlers.message,
                 {target_value(), pool.buffer.Value(), Napi::Boolean::New(env, opcode != protocol::Opcode::Text),
                  Napi::Number::New(env, static_cast<double>(offset)), Napi::Number::New(env, static_cast<double>(data.size()))});
    return;
  } else {
    // A Buffer JS owns: the bytes live in the receive buffer or the assembler, both reused.
    value = Napi::Buffer<uint8_t>::Copy(env, data.data(), data.size());
  }
  call_handler(*state_, env, state_->handlers.message,
               {target_value(), value, Napi::Boolean::New(env, opcode != protocol::Opcode::Text)});
}

void SocketWrap::on_ping(std::span<const uint8_t> payload) {
  if (state_->tearing_down || !want_ping_) return;  // exiting, or nobody listens: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.ping,
               {target_value(), Napi::Buffer<uint8_t>::Copy(env, payload.data(), payload.size())});
}

void SocketWrap::on_pong(std::span<const uint8_t> payload) {
  if (state_->tearing_down || !want_pong_) return;  // exiting, or nobody listens: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.pong,
               {target_value(), Napi::Buffer<uint8_t>::Copy(env, payload.data(), payload.size())});
}

void SocketWrap::on_close(uint16_t code, std::span<const uint8_t> reason) {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.close,
               {target_value(), Napi::Number::New(env, code),
                Napi::String::New(env, reinterpret_cast<const char*>(reason.data()), reason.size())});
}

// A size failure names the option and the numbers ("maxPayloadLength 65536 exceeded: 70000
// bytes"); every other error its fixed description.
std::string SocketWrap::error_text(protocol::ProtocolError error) const {
  using protocol::ProtocolError;
  const protocol::Connection* engine = socket_ != nullptr ? socket_->engine() : nullptr;
  if (engine == nullptr || (error != ProtocolError::FrameTooLarge && error != ProtocolError::MessageTooLarge))
    return protocol::error_message(error);
  const protocol::SizeViolation v = engine->size_violation(error);
  if (error == ProtocolError::FrameTooLarge)
    return "maxFrameSize " + std::to_string(v.limit) + " exceeded: a frame of " + std::to_string(v.size) + " bytes";
  if (v.inflated)
    return "maxPayloadLength " + std::to_string(v.limit) + " exceeded: the compressed message inflates to more than " +
           std::to_string(v.limit) + " bytes";
  return "maxPayloadLength " + std::to_string(v.limit) + " exceeded: " + std::to_string(v.size) + " bytes";
}

void SocketWrap::on_error(protocol::ProtocolError error) {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.error,
               {target_value(), Napi::String::New(env, protocol::error_name(error)),
                Napi::String::New(env, error_text(error)),
                Napi::Number::New(env, protocol::close_code_for(error))});
}

void SocketWrap::on_drain() {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.drain, {target_value()});
}

void SocketWrap::on_client_open() {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.open,
               {target_value(), Napi::String::New(env, socket_ ? socket_->protocol() : std::string()),
                Napi::String::New(env, socket_ ? socket_->extensions() : std::string())});
}

void SocketWrap::on_client_failed(const transport::ClientFailure& failure) {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.open_failed,
               {target_value(), Napi::String::New(env, failure.code), Napi::String::New(env, failure.message),
                Napi::Number::New(env, failure.status), Napi::String::New(env, failure.raw_head),
                Napi::Buffer<uint8_t>::Copy(env, reinterpret_cast<const uint8_t*>(failure.body.data()), failure.body.size())});
}

double SocketWrap::on_external_write(std::span<const io::Slice> slices) {
  if (state_->tearing_down) return 0;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  size_t total = 0;
  for (const auto& s : slices) total += s.len;
  Napi::Buffer<uint8_t> chunk = Napi::Buffer<uint8_t>::New(env, total);
  size_t off = 0;
  for (const auto& s : slices) {
    std::memcpy(chunk.Data() + off, s.data, s.len);
    off += s.len;
  }
  // The link answers with the Duplex's buffered bytes, negative (-(n) - 1) when it wants 'drain'.
  napi_value r = call_handler(*state_, env, state_->handlers.write, {target_value(), chunk});
  double buffered = 0;
  if (napi_get_value_double(env, r, &buffered) != napi_ok) buffered = 0;
  return buffered;
}

void SocketWrap::on_external_flow(bool reading) {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.flow, {target_value(), Napi::Boolean::New(env, reading)});
}

// respond(target, fields: [name, value, ...], body: Buffer, end): an http2 stream's answer.
void SocketWrap::on_external_answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  Napi::Array flat = Napi::Array::New(env, fields.size() * 2);
  for (size_t i = 0; i < fields.size(); i++) {
    flat.Set(static_cast<uint32_t>(2 * i), Napi::String::New(env, fields[i].name));
    flat.Set(static_cast<uint32_t>(2 * i + 1), Napi::String::New(env, fields[i].value));
  }
  call_handler(*state_, env, state_->handlers.respond,
               {target_value(), flat, Napi::Buffer<char>::Copy(env, body.data(), body.size()), Napi::Boolean::New(env, end)});
}

void SocketWrap::on_external_end() {
  if (state_->tearing_down) return;  // the environment is exiting: no JS
  Napi::Env env = Env();
  state_->loop->ensure_js();
  Napi::HandleScope scope(env);
  call_handler(*state_, env, state_->handlers.end, {target_value()});
}

void SocketWrap::on_detached() {
  socket_ = nullptr;
  target_.Reset();
  Unref();
}

}  // namespace sockudo::binding
