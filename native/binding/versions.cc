// Versions of every statically linked third-party library, read from the libraries themselves at
// run time. Calling into each one also proves it is linked (and, with symbols hidden, that the
// addon uses its own copy rather than Node's OpenSSL/zlib/nghttp2/simdutf).
#include <liburing.h>
#include <nghttp2/nghttp2.h>
#include <nghttp3/nghttp3.h>
#include <ngtcp2/ngtcp2.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <simdutf.h>
#include <zlib-ng.h>

#include <string>

#include "binding/env_state.h"

#if OPENSSL_VERSION_NUMBER < 0x30500000L
#error "OpenSSL >= 3.5 headers expected (an older openssl/ from Node's include dir shadows ours)"
#endif

namespace sockudo::binding {

static Napi::Value versions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object v = Napi::Object::New(env);
  v.Set("simdutf", Napi::String::New(env, SIMDUTF_VERSION));
  v.Set("zlibng", Napi::String::New(env, zlibng_version()));
  v.Set("nghttp2", Napi::String::New(env, nghttp2_version(0)->version_str));
  v.Set("nghttp3", Napi::String::New(env, nghttp3_version(0)->version_str));
  v.Set("ngtcp2", Napi::String::New(env, ngtcp2_version(0)->version_str));
  v.Set("liburing", Napi::String::New(env, std::to_string(io_uring_major_version()) + "." +
                                               std::to_string(io_uring_minor_version())));
  v.Set("openssl", Napi::String::New(env, OpenSSL_version(OPENSSL_VERSION_STRING)));
  // ngtcp2's OpenSSL QUIC backend needs SSL_set_quic_tls_cbs (OpenSSL >= 3.5): decided by the
  // library linked in, read from its version. (A getter must not initialise it: that is
  // process-wide state, set up by whatever first uses QUIC.)
  v.Set("quicTlsBackend", Napi::String::New(env, OPENSSL_VERSION_NUMBER >= 0x30500000L ? "openssl" : "unavailable"));
  return v;
}

void register_versions(Napi::Env env, Napi::Object exports) {
  exports.Set("versions", Napi::Function::New(env, versions, "versions"));
}

}  // namespace sockudo::binding
