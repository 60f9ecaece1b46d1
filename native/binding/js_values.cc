#include "binding/js_values.h"

namespace sockudo::binding {

namespace {

size_t element_size(napi_typedarray_type type) {
  switch (type) {
    case napi_int16_array:
    case napi_uint16_array: return 2;
    case napi_int32_array:
    case napi_uint32_array:
    case napi_float32_array: return 4;
    case napi_float64_array:
    case napi_bigint64_array:
    case napi_biguint64_array: return 8;
    default: return 1;
  }
}

}  // namespace

bool read_bytes(const Napi::Value& v, ByteView& out) {
  // One N-API call for the common case: napi_get_buffer_info answers for a Buffer or any other
  // Uint8Array (Node's Buffer::HasInstance is "is an ArrayBufferView"), with the view's byte
  // offset applied and its byte length. This runs for every send() of bytes and every kernel
  // utility call, so the call count matters (node-addon-api's accessors would make five).
  napi_env env = v.Env();
  {
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_buffer_info(env, v, &data, &length) == napi_ok) {
      out.data = static_cast<const uint8_t*>(data);
      out.len = length;
      return true;
    }
    // Not an ArrayBufferView (an ArrayBuffer, or not bytes at all): the checks below.
  }
  bool is_typed = false;
  if (napi_is_typedarray(env, v, &is_typed) == napi_ok && is_typed) {
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;  // already adjusted by the view's byte offset
    if (napi_get_typedarray_info(env, v, &type, &length, &data, nullptr, nullptr) != napi_ok) return false;
    out.data = static_cast<const uint8_t*>(data);
    out.len = length * element_size(type);
    return true;
  }
  if (v.IsDataView()) {
    Napi::DataView dv = v.As<Napi::DataView>();
    out.data = static_cast<const uint8_t*>(dv.ArrayBuffer().Data()) + dv.ByteOffset();
    out.len = dv.ByteLength();
    return true;
  }
  if (v.IsArrayBuffer()) {
    Napi::ArrayBuffer ab = v.As<Napi::ArrayBuffer>();
    out.data = static_cast<const uint8_t*>(ab.Data());
    out.len = ab.ByteLength();
    return true;
  }
  return false;
}

bool read_bytes_or_string(const Napi::Value& v, ByteView& out, std::string& storage) {
  if (v.IsString()) {
    storage = v.As<Napi::String>().Utf8Value();
    out.data = reinterpret_cast<const uint8_t*>(storage.data());
    out.len = storage.size();
    return true;
  }
  return read_bytes(v, out);
}

void HeaderList::build() {
  fields_.clear();
  for (size_t i = 0; i + 1 < strings.size(); i += 2) fields_.push_back({strings[i], strings[i + 1]});
}

bool read_string_list(const Napi::Value& v, std::vector<std::string>& out) {
  out.clear();
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value e = a.Get(i);
    if (!e.IsString()) return false;
    out.push_back(e.As<Napi::String>().Utf8Value());
  }
  return true;
}

bool read_header_list(const Napi::Value& v, HeaderList& out) {
  if (!read_string_list(v, out.strings) || out.strings.size() % 2 != 0) return false;
  out.build();
  return true;
}

Napi::Value throw_type_error(Napi::Env env, const char* message) {
  Napi::TypeError err = Napi::TypeError::New(env, message);
  err.Set("code", Napi::String::New(env, "ERR_INVALID_ARG_TYPE"));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

double get_number(const Napi::Object& o, const char* key, double fallback) {
  Napi::Value v = o.Get(key);
  return v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : fallback;
}

bool get_bool(const Napi::Object& o, const char* key, bool fallback) {
  Napi::Value v = o.Get(key);
  return v.IsBoolean() ? v.As<Napi::Boolean>().Value() : fallback;
}

std::string get_string(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

}  // namespace sockudo::binding
