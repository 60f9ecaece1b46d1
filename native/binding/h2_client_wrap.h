// NativeHttp2Session: a client HTTP/2 (RFC 8441) or, with `http3: true`, HTTP/3 (RFC 9220)
// connection carrying many WebSockets, one per extended CONNECT stream. Reports ready / failed / closed to its JS target (lib/http2-client.ts)
// through the h2Ready, h2Failed and h2Closed handlers; websocket() opens a stream whose socket
// reports like a client connection's (open / openFailed).
#pragma once

#include <napi.h>

#include <string>

#include "binding/env_state.h"
#include "transport/client_session.h"
#include "transport/endpoint.h"

namespace sockudo::binding {

class H2ClientWrap final : public Napi::ObjectWrap<H2ClientWrap>, public transport::SessionClientHandler {
 public:
  static Napi::Function define(Napi::Env env);
  explicit H2ClientWrap(const Napi::CallbackInfo& info);
  ~H2ClientWrap() override;

 private:
  Napi::Value websocket(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);

  void on_session_ready(bool connect_protocol) override;
  void on_session_failed(const transport::ClientFailure& failure) override;
  void on_session_closed() override;
  void release();

  EnvState* state_;
  std::shared_ptr<transport::SocketConfig> config_;
  std::string transport_reason_;
  transport::ClientSession* session_ = nullptr;  // an HTTP/2 or (http3: true) HTTP/3 connection
  bool http3_ = false;
  Napi::ObjectReference target_;
  std::string host_;
  uint16_t port_ = 0;
  bool secure_ = false;
};

}  // namespace sockudo::binding
