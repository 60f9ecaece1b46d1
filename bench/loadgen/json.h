// A one-line JSON object writer for the result: numbers, strings, booleans, in insertion order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sockudo::loadgen {

class JsonObject {
 public:
  JsonObject& add(std::string_view key, std::string_view value);
  JsonObject& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonObject& add(std::string_view key, const std::string& value) { return add(key, std::string_view(value)); }
  JsonObject& add(std::string_view key, bool value);
  JsonObject& add(std::string_view key, int64_t value);
  JsonObject& add(std::string_view key, uint64_t value);
  JsonObject& add(std::string_view key, int value) { return add(key, static_cast<int64_t>(value)); }
  JsonObject& add(std::string_view key, double value);  // 3 decimals; non-finite → null
  // Appends every field of `other` (in its order) after ours.
  JsonObject& merge(const JsonObject& other);
  std::string str() const { return body_ + "}"; }

 private:
  void key(std::string_view k);
  std::string body_ = "{";
};

}  // namespace sockudo::loadgen
