// mask / unmask / isValidUTF8 / kernels: the core's kernels exposed as standalone utilities (as
// bufferutil and utf-8-validate are for ws). lib/utilities.ts validates arguments; the checks here
// only keep a direct caller of the binding from crashing the process.
#include "binding/env_state.h"
#include "binding/js_values.h"
#include "core/utf8/utf8.h"

namespace sockudo::binding {

namespace {

Napi::Value throw_type(Napi::Env env, const char* msg) {
  Napi::TypeError err = Napi::TypeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value throw_range(Napi::Env env, const char* msg) {
  Napi::RangeError err = Napi::RangeError::New(env, msg);
  err.Set("code", Napi::String::New(env, "ERR_OUT_OF_RANGE"));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

// mask(source, key, output, outputOffset, phase): output[outputOffset + i] = source[i] ^ key[(phase + i) % 4]
// Written against the raw N-API (as bufferutil is): at 125 B the call's fixed cost is most of the
// time, and node-addon-api's wrappers, a type check per argument and the instance-data lookup
// cost a third of it. `data` is the EnvState (the kernel), bound when the function is created.
napi_value mask(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  void *src = nullptr, *key = nullptr, *out = nullptr;
  size_t src_len = 0, key_len = 0, out_len = 0;
  double offset = 0, phase = 0;
  // Any view's bytes with one call each (napi_get_buffer_info), numbers without a separate type check.
  if (argc < 5 || napi_get_buffer_info(env, argv[0], &src, &src_len) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &key, &key_len) != napi_ok ||
      napi_get_buffer_info(env, argv[2], &out, &out_len) != napi_ok ||
      napi_get_value_double(env, argv[3], &offset) != napi_ok || napi_get_value_double(env, argv[4], &phase) != napi_ok) {
    throw_type(Napi::Env(env), "mask(source, key, output, offset, phase) expects typed arrays and numbers");
    return nullptr;
  }
  if (key_len != 4) {
    throw_range(Napi::Env(env), "key must be 4 bytes");
    return nullptr;
  }
  if (!(offset >= 0) || offset > static_cast<double>(out_len) || static_cast<double>(src_len) > out_len - offset) {
    throw_range(Napi::Env(env), "output is too small for source at offset");
    return nullptr;
  }
  if (!(phase >= 0)) {
    throw_range(Napi::Env(env), "phase must be a non-negative integer");
    return nullptr;
  }
  const auto& kernel = *static_cast<EnvState*>(data)->mask_kernel;
  simd::apply_mask(kernel, static_cast<uint8_t*>(out) + static_cast<size_t>(offset), static_cast<const uint8_t*>(src), src_len,
                   static_cast<const uint8_t*>(key), static_cast<size_t>(static_cast<uint64_t>(phase) & 3));
  return nullptr;  // undefined
}

// unmask(buffer, key, phase): buffer[i] ^= key[(phase + i) % 4], in place (three arguments, as
// bufferutil's two-argument unmask: every argument costs an N-API call at small sizes).
napi_value unmask(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok) return nullptr;
  void *buf = nullptr, *key = nullptr;
  size_t len = 0, key_len = 0;
  double phase = 0;
  if (argc < 3 || napi_get_buffer_info(env, argv[0], &buf, &len) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &key, &key_len) != napi_ok || napi_get_value_double(env, argv[2], &phase) != napi_ok) {
    throw_type(Napi::Env(env), "unmask(buffer, key, phase) expects typed arrays and a number");
    return nullptr;
  }
  if (key_len != 4 || !(phase >= 0)) {
    throw_range(Napi::Env(env), "key must be 4 bytes and phase a non-negative integer");
    return nullptr;
  }
  auto* p = static_cast<uint8_t*>(buf);
  simd::apply_mask(*static_cast<EnvState*>(data)->mask_kernel, p, p, len, static_cast<const uint8_t*>(key),
                   static_cast<size_t>(static_cast<uint64_t>(phase) & 3));
  return nullptr;
}

// isValidUTF8(view): raw N-API for the same reason as mask().
napi_value is_valid_utf8(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  void* bytes = nullptr;
  size_t len = 0;
  if (napi_get_cb_info(env, info, &argc, &arg, nullptr, nullptr) != napi_ok || argc < 1 ||
      napi_get_buffer_info(env, arg, &bytes, &len) != napi_ok) {
    throw_type(Napi::Env(env), "isValidUTF8 expects a typed array");
    return nullptr;
  }
  napi_value result;
  napi_get_boolean(env, utf8::is_valid(static_cast<const uint8_t*>(bytes), len), &result);
  return result;
}

Napi::Value kernels(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const EnvState& state = env_state(env);
  Napi::Array available = Napi::Array::New(env);
  Napi::Array compiled = Napi::Array::New(env);
  uint32_t n = 0, c = 0;
  for (const simd::MaskKernel& k : simd::mask_kernels()) {
    compiled.Set(c++, Napi::String::New(env, k.name));
    if (k.supported(state.cpu)) available.Set(n++, Napi::String::New(env, k.name));
  }
  Napi::Object mask = Napi::Object::New(env);
  mask.Set("active", Napi::String::New(env, state.mask_kernel->name));
  mask.Set("available", available);
  mask.Set("compiled", compiled);
  Napi::Object utf8 = Napi::Object::New(env);
  utf8.Set("active", Napi::String::New(env, utf8::active_implementation()));
  Napi::Object out = Napi::Object::New(env);
  out.Set("mask", mask);
  out.Set("utf8", utf8);
  return out;
}

}  // namespace

void register_utilities(Napi::Env env, Napi::Object exports) {
  napi_value fn;
  napi_create_function(env, "mask", NAPI_AUTO_LENGTH, mask, &env_state(env), &fn);
  exports.Set("mask", fn);
  napi_create_function(env, "unmask", NAPI_AUTO_LENGTH, unmask, &env_state(env), &fn);
  exports.Set("unmask", fn);
  napi_create_function(env, "isValidUTF8", NAPI_AUTO_LENGTH, is_valid_utf8, nullptr, &fn);
  exports.Set("isValidUTF8", fn);
  exports.Set("kernels", Napi::Function::New(env, kernels, "kernels"));
}

}  // namespace sockudo::binding
