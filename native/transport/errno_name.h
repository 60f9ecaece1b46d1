// The symbolic name of an errno value ("ECONNREFUSED"), as Node reports system errors: through
// libuv, which every glibc the prebuilt addon supports has (strerrorname_np needs glibc 2.32).
#pragma once

#include <uv.h>

#include <cstring>
#include <string>

namespace sockudo::transport {

inline std::string errno_name(int error, const char* fallback) {
  char buf[64];
  uv_err_name_r(-error, buf, sizeof buf);
  return std::strncmp(buf, "Unknown", 7) == 0 ? std::string(fallback) : std::string(buf);
}

}  // namespace sockudo::transport
