// transport/stream_io.h: the socket calls a connection reads and writes with. On a socket they move
// bytes in order (one slice and several), a closed peer is EPIPE and never a SIGPIPE; on a pipe
// (ENOTSOCK) the connection switches to read()/writev() and keeps working.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "harness.h"
#include "transport/stream_io.h"

using sockudo::transport::stream_read;
using sockudo::transport::stream_write;

namespace {

iovec slice(const char* s) { return {const_cast<char*>(s), std::strlen(s)}; }

std::string read_all(int fd, size_t n, bool& not_socket) {
  std::string out;
  char buf[64];
  while (out.size() < n) {
    const ssize_t r = stream_read(fd, buf, sizeof buf, not_socket);
    if (r <= 0) break;
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

}  // namespace

TEST(socket_one_and_several_slices_arrive_in_order) {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  bool w_not_socket = false, r_not_socket = false;
  iovec one[] = {slice("hello ")};
  CHECK_EQ(stream_write(sv[0], one, 1, w_not_socket), 6);
  iovec three[] = {slice("a"), slice("bc"), slice("def")};
  CHECK_EQ(stream_write(sv[0], three, 3, w_not_socket), 6);
  CHECK_EQ(read_all(sv[1], 12, r_not_socket), std::string("hello abcdef"));
  CHECK(!w_not_socket);
  CHECK(!r_not_socket);
  close(sv[0]);
  close(sv[1]);
}

TEST(socket_closed_peer_is_epipe_not_sigpipe) {
  signal(SIGPIPE, SIG_DFL);  // the default action would end this process
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  close(sv[1]);
  bool not_socket = false;
  iovec one[] = {slice("x")};
  CHECK_EQ(stream_write(sv[0], one, 1, not_socket), -1);
  CHECK_EQ(errno, EPIPE);
  iovec two[] = {slice("x"), slice("y")};
  CHECK_EQ(stream_write(sv[0], two, 2, not_socket), -1);
  CHECK_EQ(errno, EPIPE);
  close(sv[0]);
}

TEST(pipe_falls_back_to_read_and_writev) {
  int p[2];
  REQUIRE(pipe(p) == 0);
  bool w_not_socket = false, r_not_socket = false;
  iovec two[] = {slice("pi"), slice("pe")};
  CHECK_EQ(stream_write(p[1], two, 2, w_not_socket), 4);
  CHECK(w_not_socket);
  iovec one[] = {slice("!")};
  CHECK_EQ(stream_write(p[1], one, 1, w_not_socket), 1);  // straight to writev now
  CHECK_EQ(read_all(p[0], 5, r_not_socket), std::string("pipe!"));
  CHECK(r_not_socket);
  close(p[1]);
  char c;
  CHECK_EQ(stream_read(p[0], &c, 1, r_not_socket), 0);  // EOF through read()
  close(p[0]);
}

TEST(nonblocking_empty_socket_is_eagain) {
  int sv[2];
  REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
  bool not_socket = false;
  char c;
  CHECK_EQ(stream_read(sv[0], &c, 1, not_socket), -1);
  CHECK(errno == EAGAIN || errno == EWOULDBLOCK);
  CHECK(!not_socket);
  close(sv[0]);
  close(sv[1]);
}
