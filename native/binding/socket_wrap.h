// NativeSocket: the JS handle of one connection (server or client, TCP or external Duplex).
//
// Lifetime: while the transport Endpoint lives, the wrap holds a strong reference to itself and to
// its `target` (the lib/ WebSocket object events are delivered to), so neither can be collected
// under it. When the Endpoint goes (on_detached), both references are dropped and every method
// becomes a no-op that reports "closed": using a closed socket never crashes the process.
#pragma once

#include <napi.h>

#include <memory>
#include <string>

#include "binding/env_state.h"
#include "transport/endpoint.h"

namespace sockudo::binding {

class SocketWrap final : public Napi::ObjectWrap<SocketWrap>, public transport::SocketHandler {
 public:
  static Napi::Function define(Napi::Env env);
  // A new wrap attached to `socket` (which reports to it from now on).
  static Napi::Object create(Napi::Env env, transport::Endpoint* socket);

  explicit SocketWrap(const Napi::CallbackInfo& info);
  ~SocketWrap() override;

  void attach(transport::Endpoint* socket);
  void set_target(Napi::Object target);
  // Why its link is what it is: a client's choice (binding/transport_choice.h), or its server's.
  void set_transport_reason(std::string reason) { transport_reason_ = std::make_shared<const std::string>(std::move(reason)); }
  // Shared by every connection that follows its server's choice (one string per server, not per connection).
  void set_transport_reason(std::shared_ptr<const std::string> reason) { transport_reason_ = std::move(reason); }
  transport::Endpoint* socket() const { return socket_; }
  Napi::Value target_object() { return target_value(); }

 private:
  // JS methods
  Napi::Value accept(const Napi::CallbackInfo& info);
  Napi::Value reject(const Napi::CallbackInfo& info);
  Napi::Value start(const Napi::CallbackInfo& info);
  Napi::Value extensions(const Napi::CallbackInfo& info);
  // send() is a raw N-API callback (send_entry) so that a reply from inside this socket's own
  // 'message' handler skips napi_unwrap (a private-symbol lookup, ~700 instructions).
  static napi_value send_entry(napi_env env, napi_callback_info info);
  napi_value send(napi_env env, napi_value data, napi_value binary_arg, napi_value compress_arg);
  Napi::Value ping(const Napi::CallbackInfo& info);
  Napi::Value pong(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value terminate(const Napi::CallbackInfo& info);
  Napi::Value pause(const Napi::CallbackInfo& info);
  Napi::Value resume(const Napi::CallbackInfo& info);
  Napi::Value flush(const Napi::CallbackInfo& info);
  Napi::Value buffered_amount(const Napi::CallbackInfo& info);
  Napi::Value remote(const Napi::CallbackInfo& info);
  Napi::Value transport(const Napi::CallbackInfo& info);
  Napi::Value feed(const Napi::CallbackInfo& info);
  Napi::Value end(const Napi::CallbackInfo& info);
  Napi::Value drained(const Napi::CallbackInfo& info);
  Napi::Value want_control(const Napi::CallbackInfo& info);
  // pub/sub (pubsub_binding.cc)
  Napi::Value subscribe(const Napi::CallbackInfo& info);
  Napi::Value unsubscribe(const Napi::CallbackInfo& info);
  Napi::Value is_subscribed(const Napi::CallbackInfo& info);
  Napi::Value topics(const Napi::CallbackInfo& info);
  Napi::Value unsubscribe_all(const Napi::CallbackInfo& info);
  Napi::Value publish(const Napi::CallbackInfo& info);

  // transport::SocketHandler
  void on_message(protocol::Opcode opcode, std::span<const uint8_t> data, bool zero_copy) override;
  void on_ping(std::span<const uint8_t> payload) override;
  void on_pong(std::span<const uint8_t> payload) override;
  void on_close(uint16_t code, std::span<const uint8_t> reason) override;
  void on_error(protocol::ProtocolError error) override;
  void on_drain() override;
  void on_client_open() override;
  void on_client_failed(const transport::ClientFailure& failure) override;
  double on_external_write(std::span<const io::Slice> slices) override;
  std::string error_text(protocol::ProtocolError error) const;
  void on_external_flow(bool reading) override;
  void on_external_end() override;
  void on_external_answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) override;
  void on_detached() override;

  Napi::Value target_value();
  Napi::Value control_send(const Napi::CallbackInfo& info, bool is_ping);

  EnvState* state_ = nullptr;
  transport::Endpoint* socket_ = nullptr;
  const char* transport_name_ = "epoll";  // the link's, kept once the endpoint is gone
  std::shared_ptr<const std::string> transport_reason_;
  Napi::ObjectReference target_;
  // Whether JS listens for 'ping' / 'pong': without a listener the event never crosses into JS
  // (automatic pongs are native either way).
  bool want_ping_ = false;
  bool want_pong_ = false;
  bool text_as_buffer_ = false;  // its config's textAsBuffer: text messages reach JS as Buffers
};

}  // namespace sockudo::binding
