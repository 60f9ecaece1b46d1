// mask / unmask / isValidUTF8 / kernels: the core's kernels exposed as standalone utilities (as
// bufferutil and utf-8-validate are for ws). lib/utilities.ts validates arguments; the checks here
// only keep a direct caller of the binding from crashing the process.
#include "binding/env_state.h"
#include "binding/js_values.h"
#include "core/utf8/utf8.h"

namespace sockudo::binding {

namespace {

// The bytes of a TypedArray (or ArrayBuffer/DataView) argument (read_bytes: one N-API info call),
// writable: the output of mask() is one of them.
bool get_bytes(const Napi::Value& v, uint8_t** data, size_t* len) {
  ByteView view;
  if (!read_bytes(v, view)) return false;
  *data = const_cast<uint8_t*>(view.data);
  *len = view.len;
  return true;
}

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
Napi::Value mask(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t *src, *key, *out;
  size_t src_len, key_len, out_len;
  double offset = 0, phase = 0;
  // napi_get_value_double fails for a non-number: no separate type checks (each is an N-API call).
  if (info.Length() < 5 || !get_bytes(info[0], &src, &src_len) || !get_bytes(info[1], &key, &key_len) ||
      !get_bytes(info[2], &out, &out_len) || napi_get_value_double(env, info[3], &offset) != napi_ok ||
      napi_get_value_double(env, info[4], &phase) != napi_ok)
    return throw_type(env, "mask(source, key, output, offset, phase) expects typed arrays and numbers");
  if (key_len != 4) return throw_range(env, "key must be 4 bytes");
  if (!(offset >= 0) || offset > static_cast<double>(out_len) || static_cast<double>(src_len) > out_len - offset)
    return throw_range(env, "output is too small for source at offset");
  if (!(phase >= 0)) return throw_range(env, "phase must be a non-negative integer");
  const auto& kernel = *env_state(env).mask_kernel;
  simd::apply_mask(kernel, out + static_cast<size_t>(offset), src, src_len, key,
                   static_cast<size_t>(static_cast<uint64_t>(phase) & 3));
  return env.Undefined();
}

Napi::Value is_valid_utf8(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data;
  size_t len;
  if (info.Length() < 1 || !get_bytes(info[0], &data, &len)) return throw_type(env, "isValidUTF8 expects a typed array");
  return Napi::Boolean::New(env, utf8::is_valid(data, len));
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
  exports.Set("mask", Napi::Function::New(env, mask, "mask"));
  exports.Set("isValidUTF8", Napi::Function::New(env, is_valid_utf8, "isValidUTF8"));
  exports.Set("kernels", Napi::Function::New(env, kernels, "kernels"));
}

}  // namespace sockudo::binding
