#include "binding/transport_choice.h"

namespace sockudo::binding {

TransportChoice choose_transport(transport::Loop& loop, const Napi::Object& o, transport::SocketConfig& config,
                                 const std::string& epoll_only) {
  TransportChoice c;
  const Napi::Value t = o.Get("transport");
  const std::string wanted = t.IsString() ? t.As<Napi::String>().Utf8Value() : "auto";
  if (wanted == "io_uring" && !epoll_only.empty()) {
    c.reason = "io_uring unavailable: " + epoll_only;
  } else if (wanted == "io_uring") {
    std::string why;
    if (loop.uring(&why) != nullptr) {
      c.io_uring = true;
      c.reason = "requested";
    } else {
      c.reason = "io_uring unavailable: " + why;
    }
  } else {
    c.reason = wanted == "epoll" ? "requested" : "auto: epoll is the default (see the README's transport section)";
  }
  config.io_uring = c.io_uring;
  return c;
}

Napi::Object TransportChoice::to_js(Napi::Env env) const {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", name());
  o.Set("reason", reason);
  return o;
}

}  // namespace sockudo::binding
