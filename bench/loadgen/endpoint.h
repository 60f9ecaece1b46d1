// Where the load goes: a loopback address only. The generator is a local benchmark tool; it
// refuses every host but 127.0.0.1, ::1 and localhost so it can never be pointed at someone else.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace sockudo::loadgen {

struct Endpoint {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  std::string host_header;  // "127.0.0.1:9001" or "[::1]:9001"
  std::string path;         // request target, starts with '/'
};

// Fills `out` for host/port/path; false with `error` set for a non-loopback host, a bad port or
// a path that is not an origin-form request target.
bool make_endpoint(const std::string& host, int port, const std::string& path, Endpoint& out,
                   std::string& error);

}  // namespace sockudo::loadgen
