// Per-environment addon state (main thread and each worker_thread get their own): no
// process-global mutable state exists in the addon.
#pragma once

#include <napi.h>

#include <memory>

#include "core/simd/mask.h"
#include "transport/event_loop.h"

namespace sockudo::binding {

// The JS functions native code calls, registered once per environment by lib/ (setHandlers).
struct JsHandlers {
  Napi::FunctionReference upgrade, upgrade_failed, open, open_failed, message, ping, pong, close, error, drain, write, end, flow,
      tls_error, respond, h2_ready, h2_failed, h2_closed, http_request;
};

// Enters JS from libuv callbacks: a handle scope plus a callback scope (so promise jobs and
// nextTicks run when the callback ends, as for any Node I/O callback).
class JsScope final : public transport::JsScopeHooks {
 public:
  JsScope(napi_env env);
  ~JsScope() override;
  void open() override;
  void close() override;

 private:
  napi_env env_;
  napi_ref resource_ = nullptr;
  napi_async_context context_ = nullptr;
  napi_handle_scope handle_scope_ = nullptr;
  napi_callback_scope callback_scope_ = nullptr;
};

// Small received Buffers are views of a shared ArrayBuffer that only moves forward (as Node's own
// Buffer pool): one N-API Buffer costs an allocation and a backing store (about 4,000 instructions
// under callgrind), a view made in JS (Buffer.from(pool, offset, length)) a tenth of that. A view
// kept alive keeps its pool (kSize bytes) alive, as any Node Buffer slice does.
struct MessagePool {
  static constexpr size_t kSize = 16 * 1024;
  static constexpr size_t kLargest = 2 * 1024;  // larger messages get a Buffer of their own
  Napi::Reference<Napi::ArrayBuffer> buffer;
  uint8_t* data = nullptr;
  size_t used = 0;  // bytes of `buffer` handed out (none yet: the first message makes the pool)
};

class SocketWrap;

// The socket whose 'message' handler is running, with its JS object (a handle of the current
// scope): send() on that object needs no unwrap.
struct Delivering {
  SocketWrap* wrap = nullptr;
  napi_value self = nullptr;
};

struct EnvState {
  const simd::MaskKernel* mask_kernel = nullptr;  // chosen once when the addon loads in this env
  simd::CpuFeatures cpu;
  std::unique_ptr<JsScope> js_scope;
  std::unique_ptr<transport::Loop> loop;
  JsHandlers handlers;
  bool handlers_set = false;
  Napi::FunctionReference socket_ctor;
  MessagePool message_pool;
  Delivering delivering;
  bool tearing_down = false;  // the environment is exiting: never call into JS again
  napi_async_cleanup_hook_handle cleanup = nullptr;
};

// The state of the environment `env` belongs to.
inline EnvState& env_state(Napi::Env env) { return *env.GetInstanceData<EnvState>(); }

// Calls a JS handler from native code inside a loop callback; an exception it throws becomes an
// uncaught exception (as in any Node event handler), never a crash or a swallowed error.
// Returns the handler's result (undefined when it threw or was not called).
napi_value call_handler(EnvState& state, Napi::Env env, const Napi::FunctionReference& fn,
                        std::initializer_list<napi_value> args);

// Registration functions, one per binding file.
void register_utilities(Napi::Env env, Napi::Object exports);
void register_versions(Napi::Env env, Napi::Object exports);
void register_transport(Napi::Env env, Napi::Object exports);
void register_pubsub(Napi::Env env, Napi::Object exports);

}  // namespace sockudo::binding
