// Addon entry point: creates this environment's state, picks the mask kernel (the one dispatch
// decision; SOCKUDO_WS_KERNEL forces one by name, and a bad name fails the load), and registers
// the functions of each binding file.
#include <cstdlib>
#include <string>

#include "binding/env_state.h"
#include "binding/tls_binding.h"

namespace sockudo::binding {

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* state = new EnvState();
  env.SetInstanceData<EnvState>(state);  // deleted by N-API when the environment goes away
  state->cpu = simd::detect_cpu_features();
  const char* forced = std::getenv("SOCKUDO_WS_KERNEL");
  const auto choice = simd::choose_mask_kernel(state->cpu, forced ? forced : "");
  if (choice.kernel == nullptr) {
    Napi::Error err = Napi::Error::New(env, "SOCKUDO_WS_KERNEL: " + choice.error);
    err.Set("code", Napi::String::New(env, "ERR_SOCKUDO_WS_KERNEL"));
    err.ThrowAsJavaScriptException();
    return exports;
  }
  state->mask_kernel = choice.kernel;
  register_utilities(env, exports);
  register_versions(env, exports);
  register_transport(env, exports);
  register_pubsub(env, exports);
  register_tls(env, exports);
  return exports;
}

}  // namespace sockudo::binding

// NODE_API_MODULE pastes the function name into an identifier: it needs an unqualified name.
static Napi::Object sockudo_ws_init(Napi::Env env, Napi::Object exports) { return sockudo::binding::init(env, exports); }
NODE_API_MODULE(sockudo_ws, sockudo_ws_init)
