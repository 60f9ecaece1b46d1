// Per-environment addon state (main thread and each worker_thread get their own): no
// process-global mutable state exists in the addon.
#pragma once

#include <napi.h>

#include "core/simd/mask.h"

namespace sockudo::binding {

struct EnvState {
  const simd::MaskKernel* mask_kernel = nullptr;  // chosen once when the addon loads in this env
  simd::CpuFeatures cpu;
};

// The state of the environment `env` belongs to.
inline EnvState& env_state(Napi::Env env) { return *env.GetInstanceData<EnvState>(); }

// Registration functions, one per binding file.
void register_utilities(Napi::Env env, Napi::Object exports);
void register_versions(Napi::Env env, Napi::Object exports);

}  // namespace sockudo::binding
