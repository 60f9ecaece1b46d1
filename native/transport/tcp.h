// Thin wrappers over the socket syscalls the transport uses: non-blocking listen, accept and
// connect, socket options, addresses. Errors are returned as negative errno values.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

namespace sockudo::transport {

struct ListenOptions {
  std::string host;  // numeric IPv4/IPv6 address ("" = "::" with IPv4 mapped, else "0.0.0.0")
  uint16_t port = 0;
  int backlog = 511;
  bool reuse_port = false;
  bool ipv6_only = false;
};

struct SocketAddress {
  std::string ip;
  uint16_t port = 0;
  int family = 0;  // 4 or 6
};

// A listening, non-blocking, close-on-exec socket, or -errno.
int tcp_listen(const ListenOptions& options);
// Accepts one connection as a non-blocking, close-on-exec socket with TCP_NODELAY; -EAGAIN when
// none is pending.
int tcp_accept(int listen_fd);
// Starts a non-blocking connect to a numeric address; the fd (connect may still be in progress:
// wait for writability and check tcp_connect_result) or -errno.
int tcp_connect(const std::string& ip, uint16_t port);
int tcp_connect_result(int fd);  // 0 or -errno (SO_ERROR)
int set_nodelay(int fd);
int set_nonblocking(int fd);
// A close-on-exec duplicate of `fd` (an adopted socket: its owner closes the original), or -errno.
int dup_socket(int fd);
bool local_address(int fd, SocketAddress& out);
bool peer_address(int fd, SocketAddress& out);
bool parse_numeric_address(const std::string& ip, uint16_t port, sockaddr_storage& out, socklen_t& len);

}  // namespace sockudo::transport
