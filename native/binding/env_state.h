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

struct EnvState {
  const simd::MaskKernel* mask_kernel = nullptr;  // chosen once when the addon loads in this env
  simd::CpuFeatures cpu;
  std::unique_ptr<JsScope> js_scope;
  std::unique_ptr<transport::Loop> loop;
  JsHandlers handlers;
  bool handlers_set = false;
  Napi::FunctionReference socket_ctor;
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
