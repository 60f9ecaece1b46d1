// NativeHttp2Session: a client HTTP/2 connection (RFC 8441) carrying many WebSockets, one per
// extended CONNECT stream. Reports ready / failed / closed to its JS target (lib/http2-client.ts)
// through the h2Ready, h2Failed and h2Closed handlers; websocket() opens a stream whose socket
// reports like a client connection's (open / openFailed).
#pragma once

#include <napi.h>

#include <string>

#include "binding/env_state.h"
#include "transport/h2_session.h"

namespace sockudo::binding {

class H2ClientWrap final : public Napi::ObjectWrap<H2ClientWrap>, public transport::H2ClientHandler {
 public:
  static Napi::Function define(Napi::Env env);
  explicit H2ClientWrap(const Napi::CallbackInfo& info);
  ~H2ClientWrap() override;

 private:
  Napi::Value websocket(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  void on_h2_ready(bool connect_protocol) override;
  void on_h2_failed(const transport::ClientFailure& failure) override;
  void on_h2_closed() override;
  void release();

  EnvState* state_;
  std::shared_ptr<transport::SocketConfig> config_;
  std::string transport_reason_;
  transport::H2Session* session_ = nullptr;
  Napi::ObjectReference target_;
  std::string host_;
  uint16_t port_ = 0;
  bool secure_ = false;
};

}  // namespace sockudo::binding
