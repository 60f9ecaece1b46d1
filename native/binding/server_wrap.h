// NativeServer: one WebSocket server's native side — an optional TCP listener, the sockets it
// accepted or adopted (fds taken over from Node's http server, or external Duplex streams), and
// the hand-off of each valid upgrade request to JS.
#pragma once

#include <napi.h>

#include <memory>
#include <unordered_map>
#include <unordered_set>

#include "binding/env_state.h"
#include "transport/listener.h"
#include "transport/socket.h"

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
  Napi::Value destroy_pending(const Napi::CallbackInfo& info);
  Napi::Value pending_count(const Napi::CallbackInfo& info);
  Napi::Value set_secure_context(const Napi::CallbackInfo& info);

  void on_upgrade_request(transport::Socket& socket, const handshake::HttpHeadParser& head,
                          const handshake::UpgradeRequest& request) override;
  void on_socket_created(transport::Socket& socket) override;
  void on_handshake_rejected(transport::Socket& socket, int status) override;
  void on_handshake_decided(transport::Socket& socket) override;
  void on_tls_failure(transport::Socket& socket, const transport::LinkFailure& failure) override;
  // The JS object that identifies an adopted socket: its tag (fd) or its target (Duplex).
  Napi::Value tag_of(transport::Socket& socket);
  void on_socket_gone(transport::Socket& socket) override;
  void maybe_release();

  EnvState* state_;
  std::shared_ptr<transport::SocketConfig> config_;
  transport::Listener* listener_ = nullptr;
  bool closed_ = false;  // close() called: no new sockets; JS server released when the last goes
  Napi::ObjectReference js_server_;
  std::unordered_set<transport::Socket*> sockets_;
  std::unordered_map<transport::Socket*, Napi::ObjectReference> tags_;  // adopted fds → JS tag
};

}  // namespace sockudo::binding
