#include "transport/tcp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sockudo::transport {

bool parse_numeric_address(const std::string& ip, uint16_t port, sockaddr_storage& out, socklen_t& len) {
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET, ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  std::string host = ip;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

int set_nodelay(int fd) {
  int one = 1;
  return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0 ? 0 : -errno;
}

int set_nonblocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  return 0;
}

int dup_socket(int fd) {
  const int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  return copy < 0 ? -errno : copy;
}

int tcp_listen(const ListenOptions& o) {
  sockaddr_storage addr;
  socklen_t len;
  const std::string host = o.host.empty() ? "::" : o.host;
  bool any6 = o.host.empty();
  if (!parse_numeric_address(host, o.port, addr, len)) return -EINVAL;
  int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && any6 && errno == EAFNOSUPPORT) {  // no IPv6 on this host: fall back to 0.0.0.0
    parse_numeric_address("0.0.0.0", o.port, addr, len);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) return -errno;
  int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (o.reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    const int e = errno;
    close(fd);
    return -e;
  }
  if (addr.ss_family == AF_INET6) {
    int v6only = o.ipv6_only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6_only ? &one : &zero, sizeof v6only);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || listen(fd, o.backlog) != 0) {
    const int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int tcp_accept(int listen_fd) {
  for (;;) {
    const int fd = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      set_nodelay(fd);
      return fd;
    }
    if (errno == EINTR) continue;
    // A connection reset before we accepted it: try the next one.
    if (errno == ECONNABORTED || errno == EPROTO) continue;
    return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  }
}

int tcp_connect(const std::string& ip, uint16_t port) {
  sockaddr_storage addr;
  socklen_t len;
  if (!parse_numeric_address(ip, port, addr, len)) return -EINVAL;
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  set_nodelay(fd);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 && errno != EINPROGRESS && errno != EINTR) {
    const int e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

int tcp_connect_result(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return -errno;
  return -err;
}

static bool to_address(const sockaddr_storage& ss, SocketAddress& out) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    out = {buf, ntohs(a->sin_port), 4};
    return true;
  }
  if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    std::string ip = buf;
    // Report IPv4 clients of a dual-stack socket as IPv4, as Node does.
    if (ip.rfind("::ffff:", 0) == 0 && ip.find('.') != std::string::npos) ip = ip.substr(7);
    out = {ip, ntohs(a->sin6_port), ip.find(':') == std::string::npos ? 4 : 6};
    return true;
  }
  return false;
}

bool local_address(int fd, SocketAddress& out) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  return getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && to_address(ss, out);
}

bool peer_address(int fd, SocketAddress& out) {
  sockaddr_storage ss;
  socklen_t len = sizeof ss;
  return getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0 && to_address(ss, out);
}

}  // namespace sockudo::transport
