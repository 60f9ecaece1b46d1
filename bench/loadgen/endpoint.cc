// Loopback-only address resolution (no DNS: the three accepted spellings are matched literally).
#include "endpoint.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace sockudo::loadgen {

bool make_endpoint(const std::string& host, int port, const std::string& path, Endpoint& out,
                   std::string& error) {
  if (port <= 0 || port > 65535) {
    error = "--port must be 1..65535";
    return false;
  }
  // RFC 9112 §3.2.1 origin-form: an absolute path; no spaces or control characters.
  if (path.empty() || path[0] != '/') {
    error = "--path must start with '/'";
    return false;
  }
  for (unsigned char c : path) {
    if (c <= 0x20 || c == 0x7F) {
      error = "--path contains a space or control character";
      return false;
    }
  }
  out = Endpoint{};
  out.path = path;
  const std::string p = std::to_string(port);
  if (host == "127.0.0.1" || host == "localhost") {
    auto* sin = reinterpret_cast<sockaddr_in*>(&out.addr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    out.addr_len = sizeof(sockaddr_in);
    out.host_header = host + ":" + p;
  } else if (host == "::1" || host == "[::1]") {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&out.addr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(static_cast<uint16_t>(port));
    sin6->sin6_addr = in6addr_loopback;
    out.addr_len = sizeof(sockaddr_in6);
    out.host_header = "[::1]:" + p;
  } else {
    error = "refusing host '" + host + "': only 127.0.0.1, ::1 and localhost are allowed";
    return false;
  }
  return true;
}

}  // namespace sockudo::loadgen
