// JSON text per RFC 8259: strings escaped (§7), numbers in plain decimal (§6).
#include "json.h"

#include <cmath>
#include <cstdio>

namespace sockudo::loadgen {
namespace {
void append_string(std::string& out, std::string_view s) {
  out += '"';
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}
}  // namespace

void JsonObject::key(std::string_view k) {
  if (body_.size() > 1) body_ += ',';
  append_string(body_, k);
  body_ += ':';
}

JsonObject& JsonObject::add(std::string_view k, std::string_view value) {
  key(k);
  append_string(body_, value);
  return *this;
}

JsonObject& JsonObject::merge(const JsonObject& other) {
  if (other.body_.size() > 1) {
    if (body_.size() > 1) body_ += ',';
    body_.append(other.body_, 1);
  }
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, bool value) {
  key(k);
  body_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, int64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, uint64_t value) {
  key(k);
  body_ += std::to_string(value);
  return *this;
}

JsonObject& JsonObject::add(std::string_view k, double value) {
  key(k);
  if (!std::isfinite(value)) {
    body_ += "null";
    return *this;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  body_ += buf;
  return *this;
}

}  // namespace sockudo::loadgen
