// Pub/sub from JS: a socket's subscriptions (NativeSocket methods) and the loop-wide publish,
// subscriber count and memory figures. Topics arrive as strings validated by lib/ (1..1024 bytes
// of UTF-8); payloads as strings (text) or bytes.
#include "binding/socket_wrap.h"
#include "binding/js_values.h"
#include "transport/publish.h"

namespace sockudo::binding {

namespace {

std::string topic_arg(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsString() ? info[i].As<Napi::String>().Utf8Value() : std::string();
}

Napi::Array count_pair(Napi::Env env, bool changed, size_t count) {
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Boolean::New(env, changed));
  a.Set(1u, Napi::Number::New(env, static_cast<double>(count)));
  return a;
}

// publish(topic, data, isBinary, compress[, exclude socket]) → [recipients, dropped]
Napi::Value publish_from(const Napi::CallbackInfo& info, const transport::Endpoint* exclude) {
  Napi::Env env = info.Env();
  const std::string topic = topic_arg(info, 0);
  ByteView view;
  std::string storage;
  if (!read_bytes_or_string(info[1], view, storage)) return throw_type_error(env, "publish(topic, data) expects a string or Uint8Array");
  const auto opcode = info[2].ToBoolean().Value() ? protocol::Opcode::Binary : protocol::Opcode::Text;
  const bool compress = info[3].ToBoolean().Value();
  const auto r = transport::publish(*env_state(env).loop, topic, opcode, {view.data, view.len}, compress, exclude);
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, static_cast<double>(r.recipients)));
  a.Set(1u, Napi::Number::New(env, static_cast<double>(r.dropped)));
  return a;
}

// publish(topic, data, isBinary, compress[, exclude: NativeSocket]) → [recipients, dropped]: the
// loop-wide publish; `exclude` (a socket of this environment) does not get the message.
Napi::Value publish(const Napi::CallbackInfo& info) {
  const transport::Endpoint* exclude = nullptr;
  if (info.Length() > 4 && !info[4].IsUndefined() && !info[4].IsNull()) {
    Napi::Env env = info.Env();
    if (!info[4].IsObject() || !info[4].As<Napi::Object>().InstanceOf(env_state(env).socket_ctor.Value()))
      return throw_type_error(env, "publish(topic, data, isBinary, compress, exclude): exclude must be a NativeSocket");
    // A socket that has closed is in no topic: excluding it excludes nobody.
    exclude = SocketWrap::Unwrap(info[4].As<Napi::Object>())->socket();
  }
  return publish_from(info, exclude);
}

Napi::Value num_subscribers(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(env_state(info.Env()).loop->topics().subscriber_count(topic_arg(info, 0))));
}

// pubsubStats() → { topics, subscriptions, bytes }
Napi::Value pubsub_stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto st = env_state(env).loop->topics().stats();
  Napi::Object o = Napi::Object::New(env);
  o.Set("topics", Napi::Number::New(env, static_cast<double>(st.topics)));
  o.Set("subscriptions", Napi::Number::New(env, static_cast<double>(st.subscriptions)));
  o.Set("bytes", Napi::Number::New(env, static_cast<double>(st.bytes)));
  return o;
}

}  // namespace

// subscribe(topic) → [changed, count]
Napi::Value SocketWrap::subscribe(const Napi::CallbackInfo& info) {
  bool changed = false;
  size_t count = 0;
  if (socket_ != nullptr && socket_->is_open()) count = socket_->subscribe(topic_arg(info, 0), &changed);
  return count_pair(info.Env(), changed, count);
}

// unsubscribe(topic) → [changed, count]
Napi::Value SocketWrap::unsubscribe(const Napi::CallbackInfo& info) {
  bool changed = false;
  size_t count = 0;
  if (socket_ != nullptr) count = socket_->unsubscribe(topic_arg(info, 0), &changed);
  else count = env_state(info.Env()).loop->topics().subscriber_count(topic_arg(info, 0));
  return count_pair(info.Env(), changed, count);
}

Napi::Value SocketWrap::is_subscribed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), socket_ != nullptr && socket_->is_subscribed(topic_arg(info, 0)));
}

Napi::Value SocketWrap::topics(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto list = socket_ != nullptr ? socket_->topics() : std::vector<std::string_view>();
  Napi::Array a = Napi::Array::New(env, list.size());
  for (size_t i = 0; i < list.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, list[i].data(), list[i].size()));
  return a;
}

// unsubscribeAll() → [topic, remaining, topic, remaining, ...]: the connection closed.
Napi::Value SocketWrap::unsubscribe_all(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env);
  if (socket_ == nullptr) return a;
  uint32_t i = 0;
  socket_->unsubscribe_all([&](std::string_view topic, size_t remaining) {
    a.Set(i++, Napi::String::New(env, topic.data(), topic.size()));
    a.Set(i++, Napi::Number::New(env, static_cast<double>(remaining)));
  });
  return a;
}

// publish(topic, data, isBinary, compress) from this socket: everyone subscribed but itself.
Napi::Value SocketWrap::publish(const Napi::CallbackInfo& info) { return publish_from(info, socket_); }

void register_pubsub(Napi::Env env, Napi::Object exports) {
  exports.Set("publish", Napi::Function::New(env, publish, "publish"));
  exports.Set("numSubscribers", Napi::Function::New(env, num_subscribers, "numSubscribers"));
  exports.Set("pubsubStats", Napi::Function::New(env, pubsub_stats, "pubsubStats"));
}

}  // namespace sockudo::binding
