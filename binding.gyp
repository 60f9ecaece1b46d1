# node-gyp build of the same addon as CMakeLists.txt (node-gyp-build's from-source fallback).
# Sources come from native/sources.json through scripts/sources.js; flags mirror CMakeLists.txt.
{
  "variables": {
    "deps_prefix%": "<!(node scripts/deps/build.js)"
  },
  "targets": [{
    "target_name": "sockudo_ws",
    "sources": [ "<!@(node scripts/sources.js gyp)" ],
    # "include_dirs+" prepends: node-gyp's defaults put <nodedir>/include/node first, and that
    # directory ships OpenSSL 3.0, zlib and uv headers that would shadow ours.
    "include_dirs+": [ "<(deps_prefix)/include" ],
    "include_dirs": [ "native", "<!(node -p \"require('node-addon-api').include_dir\")" ],
    "defines": [ "NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED",
                 "NGHTTP2_STATICLIB", "NGHTTP3_STATICLIB", "NGTCP2_STATICLIB" ],
    "cflags": [ "-fvisibility=hidden", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra", "-Wno-unused-parameter" ],
    "cflags_cc": [ "-std=c++20", "-fvisibility=hidden", "-fvisibility-inlines-hidden", "-fexceptions" ],
    "cflags_cc!": [ "-std=gnu++17", "-std=gnu++1y", "-fno-exceptions" ],
    "libraries": [
      "<(deps_prefix)/lib/libngtcp2_crypto_ossl.a", "<(deps_prefix)/lib/libngtcp2.a",
      "<(deps_prefix)/lib/libnghttp3.a", "<(deps_prefix)/lib/libnghttp2.a",
      "<(deps_prefix)/lib/libsimdutf.a", "<(deps_prefix)/lib/libz-ng.a",
      "<(deps_prefix)/lib/liburing.a", "<(deps_prefix)/lib/libssl.a", "<(deps_prefix)/lib/libcrypto.a",
      "-lpthread", "-ldl"
    ],
    "ldflags": [ "-static-libstdc++", "-static-libgcc", "-Wl,--gc-sections", "-Wl,-O1",
                 "-Wl,--exclude-libs,ALL", "-Wl,--version-script=<(module_root_dir)/native/binding/exports.map" ]
  }]
}
