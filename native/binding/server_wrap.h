// NativeServer: one WebSocket server's native side — an optional TCP listener, the sockets it
// accepted or adopted (fds taken over from Node's http server, or external Duplex streams), and
// the hand-off of each valid upgrade request to JS.
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "binding/env_state.h"
#include "binding/transport_choice.h"
#include "transport/listener.h"
#include "transport/endpoint.h"

namespace sockudo::transport {
class QuicServer;
}

namespace sockudo::binding {

// Reads lib/'s flat, already validated options object.
std::shared_ptr<transport::SocketConfig> read_socket_config(const Napi::Object& o);

class ServerWrap final : public Napi::ObjectWrap<ServerWrap>, public transport::ServerHandler {
 public:
  static Napi::Function define(Napi::Env env);
  explicit ServerWrap(const Napi::CallbackInfo& info);
  ~ServerWrap() override;

 private:
  Napi::Value listen(const Napi::CallbackInfo& info);
  Napi::Value address(const Napi::CallbackInfo& info);
  Napi::Value close(const Napi::CallbackInfo& info);
  Napi::Value adopt(const Napi::CallbackInfo& info);
  Napi::Value adopt_duplex(const Napi::CallbackInfo& info);
  Napi::Value adopt_stream(const Napi::CallbackInfo& info);
  Napi::Value destroy_pending(const Napi::CallbackInfo& info);
  Napi::Value pending_count(const Napi::CallbackInfo& info);
  Napi::Value set_secure_context(const Napi::CallbackInfo& info);
  Napi::Value transport(const Napi::CallbackInfo& info);

  void on_upgrade_request(transport::Endpoint& socket, const handshake::HeaderList& head,
                          const handshake::UpgradeRequest& request) override;
  void on_session_created(transport::H2Session& session) override { sessions_.insert(&session); }
  void on_session_gone(transport::H2Session& session) override;
  void on_socket_created(transport::Endpoint& socket) override;
  void on_handshake_rejected(transport::Endpoint& socket, int status) override;
  void on_handshake_decided(transport::Endpoint& socket) override;
  void on_tls_failure(transport::Endpoint& socket, const transport::LinkFailure& failure) override;
  bool on_http_request(transport::Endpoint& socket, int fd, std::span<const uint8_t> bytes) override;
  // The JS object that identifies an adopted socket: its tag (fd) or its target (Duplex).
  Napi::Value tag_of(transport::Endpoint& socket);
  void on_socket_gone(transport::Endpoint& socket) override;
  void maybe_release();

  EnvState* state_;
  std::shared_ptr<transport::SocketConfig> config_;
  TransportChoice transport_;
  std::shared_ptr<const std::string> follow_reason_;  // "the server's: <reason>", shared by its connections
  transport::Listener* listener_ = nullptr;
  transport::QuicServer* quic_ = nullptr;  // HTTP/3 (UDP), while listening
  bool closed_ = false;  // close() called: no new sockets; JS server released when the last goes
  Napi::ObjectReference js_server_;
  std::unordered_set<transport::Endpoint*> sockets_;
  std::unordered_set<transport::H2Session*> sessions_;  // HTTP/2 connections (their streams are in sockets_)
  std::unordered_map<transport::Endpoint*, Napi::ObjectReference> tags_;  // adopted fds → JS tag
};

}  // namespace sockudo::binding
