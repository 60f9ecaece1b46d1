// Reading and writing a connection's fd with the socket calls rather than read()/writev(): recv()
// and send()/sendmsg() go straight to the socket layer and skip the VFS file-position lock that
// read()/writev() take on every call (perf: ~1 µs of the ~12 µs a small echo costs on loopback).
// MSG_NOSIGNAL: a peer that went away is an EPIPE result, never a SIGPIPE. An fd that is not a
// socket (ENOTSOCK: a pipe handed to handleUpgrade) switches that connection to read()/writev().
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace sockudo::transport {

inline ssize_t stream_read(int fd, void* buf, size_t cap, bool& not_socket) {
  if (!not_socket) {
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n >= 0 || errno != ENOTSOCK) return n;
    not_socket = true;
  }
  return ::read(fd, buf, cap);
}

inline ssize_t stream_write(int fd, const iovec* iov, int count, bool& not_socket) {
  if (!not_socket) {
    ssize_t n;
    if (count == 1) {
      n = ::send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    } else {
      msghdr msg{};
      msg.msg_iov = const_cast<iovec*>(iov);
      msg.msg_iovlen = static_cast<size_t>(count);
      n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    }
    if (n >= 0 || errno != ENOTSOCK) return n;
    not_socket = true;
  }
  return ::writev(fd, iov, count);
}

}  // namespace sockudo::transport
