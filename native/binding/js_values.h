// Conversions between JS values and the byte/string views native code works with. Arguments are
// validated in lib/; these checks only keep a direct caller of the binding from crashing.
#pragma once

#include <napi.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/handshake/header_syntax.h"

namespace sockudo::binding {

struct ByteView {
  const uint8_t* data = nullptr;
  size_t len = 0;
};

// A Uint8Array (any TypedArray/DataView view) → its bytes. False for anything else.
bool read_bytes(const Napi::Value& v, ByteView& out);
// Bytes, or a string encoded as UTF-8 into `storage`.
bool read_bytes_or_string(const Napi::Value& v, ByteView& out, std::string& storage);

// A flat array [name, value, name, value, ...] of strings.
class HeaderList {
 public:
  std::span<const handshake::HeaderField> fields() const { return fields_; }
  void build();
  std::vector<std::string> strings;

 private:
  std::vector<handshake::HeaderField> fields_;
};
bool read_header_list(const Napi::Value& v, HeaderList& out);
// A JS array of strings.
bool read_string_list(const Napi::Value& v, std::vector<std::string>& out);

Napi::Value throw_type_error(Napi::Env env, const char* message);

// Reads a number / boolean / string property of a flat options object (lib/ filled every field).
double get_number(const Napi::Object& o, const char* key, double fallback);
bool get_bool(const Napi::Object& o, const char* key, bool fallback);
std::string get_string(const Napi::Object& o, const char* key);

}  // namespace sockudo::binding
