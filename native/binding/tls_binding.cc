#include "binding/tls_binding.h"

#include <string>
#include <vector>

#include "binding/env_state.h"
#include "binding/js_values.h"

namespace sockudo::binding {

namespace {

// Marks Externals made here, so another External is never taken for a context.
constexpr napi_type_tag kTlsContextTag = {0x5c0d0d0e7a15c7a1ULL, 0x9b3f6a1d2e4c8b70ULL};

using Holder = std::shared_ptr<transport::TlsContext>;

// Strings (PEM) or bytes (a DER pfx) → std::string each.
bool read_blob_list(const Napi::Value& v, std::vector<std::string>& out) {
  if (v.IsUndefined() || v.IsNull()) return true;
  if (!v.IsArray()) return false;
  Napi::Array a = v.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    ByteView bytes;
    std::string storage;
    if (!read_bytes_or_string(a.Get(i), bytes, storage)) return false;
    out.emplace_back(reinterpret_cast<const char*>(bytes.data), bytes.len);
  }
  return true;
}

// createTlsContext({ server, key, cert, ca, pfx, passphrase, ciphers, minVersion, maxVersion,
// requestCert, rejectUnauthorized, alpn }) → context, or throws an Error with Node's code.
Napi::Value create_tls_context(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) return throw_type_error(env, "createTlsContext(options)");
  Napi::Object o = info[0].As<Napi::Object>();
  transport::TlsOptions t;
  t.server = get_bool(o, "server", true);
  if (!read_blob_list(o.Get("key"), t.keys) || !read_blob_list(o.Get("cert"), t.certs) ||
      !read_blob_list(o.Get("ca"), t.ca) || !read_blob_list(o.Get("pfx"), t.pfx) ||
      !read_string_list(o.Get("alpn"), t.alpn)) {
    return throw_type_error(env, "key, cert, ca and pfx must be arrays of strings or Buffers; alpn of strings");
  }
  t.passphrase = get_string(o, "passphrase");
  t.ciphers = get_string(o, "ciphers");
  if (o.Get("minVersion").IsString()) t.min_version = get_string(o, "minVersion");
  if (o.Get("maxVersion").IsString()) t.max_version = get_string(o, "maxVersion");
  t.request_cert = get_bool(o, "requestCert", false);
  t.reject_unauthorized = get_bool(o, "rejectUnauthorized", true);
  t.quic = get_bool(o, "quic", false);
  transport::LinkFailure failure;
  Holder ctx = transport::TlsContext::create(t, &failure);
  if (!ctx) {
    Napi::Error e = Napi::Error::New(env, failure.message);
    e.Set("code", Napi::String::New(env, failure.code));
    e.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto* holder = new Holder(std::move(ctx));
  auto ext = Napi::External<Holder>::New(env, holder, [](Napi::Env, Holder* h) { delete h; });
  napi_type_tag_object(env, ext, &kTlsContextTag);
  return ext;
}

}  // namespace

std::shared_ptr<transport::TlsContext> unwrap_tls_context(Napi::Env env, const Napi::Value& v) {
  if (!v.IsExternal()) return nullptr;
  bool tagged = false;
  if (napi_check_object_type_tag(env, v, &kTlsContextTag, &tagged) != napi_ok || !tagged) return nullptr;
  return *v.As<Napi::External<Holder>>().Data();
}

std::shared_ptr<transport::TlsServerContexts> read_tls_server(Napi::Env env, const Napi::Value& v) {
  if (!v.IsObject()) return nullptr;
  Napi::Object o = v.As<Napi::Object>();
  Holder fallback = unwrap_tls_context(env, o.Get("context"));
  if (!fallback || !fallback->server()) return nullptr;
  std::vector<std::pair<std::string, Holder>> by_name;
  Napi::Value sni = o.Get("sni");
  if (sni.IsArray()) {
    Napi::Array a = sni.As<Napi::Array>();
    for (uint32_t i = 0; i + 1 < a.Length(); i += 2) {
      Holder ctx = unwrap_tls_context(env, a.Get(i + 1));
      if (!a.Get(i).IsString() || !ctx || !ctx->server()) return nullptr;
      by_name.emplace_back(a.Get(i).As<Napi::String>().Utf8Value(), std::move(ctx));
    }
  }
  return std::make_shared<transport::TlsServerContexts>(std::move(fallback), std::move(by_name));
}

void register_tls(Napi::Env env, Napi::Object exports) {
  exports.Set("createTlsContext", Napi::Function::New(env, create_tls_context, "createTlsContext"));
}

}  // namespace sockudo::binding
