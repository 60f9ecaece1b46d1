// io_uring sends, copied (IORING_OP_SEND) against zero-copy (IORING_OP_SEND_ZC, Linux 6.0), over
// one loopback TCP connection: the question the io_uring transport (native/transport/uring_link.h)
// must answer before sending large payloads in place. As the link does, one send is in flight at a
// time, so a zero-copy send's buffer is reused only after its notification. A receiver thread
// drains the other end with recv. Prints one JSON line per size and mode: bytes/s, and the process's
// CPU time (sender, receiver and any io_uring worker threads) per MiB.
//
//   bench_send_zc [--seconds S] [--sizes 16384,65536,...]
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// A connected loopback pair: [0] sends, [1] receives.
bool socket_pair(int fds[2]) {
  const int l = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (l < 0 || bind(l, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(l, 1) != 0 ||
      getsockname(l, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return false;
  fds[0] = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fds[0], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return false;
  fds[1] = accept(l, nullptr, nullptr);
  close(l);
  const int one = 1;
  setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fds[1] >= 0;
}

struct Result {
  double bytes_per_sec = 0;
  double cpu_ns_per_mib = 0;
  bool ok = false;
};

Result run(io_uring& ring, size_t size, bool zc, double seconds) {
  Result r;
  int fds[2];
  if (!socket_pair(fds)) return r;
  std::atomic<uint64_t> received{0};
  std::thread receiver([&] {
    std::vector<uint8_t> buf(1 << 20);
    for (;;) {
      const ssize_t n = recv(fds[1], buf.data(), buf.size(), 0);
      if (n <= 0) break;
      received += static_cast<uint64_t>(n);
    }
  });
  std::vector<uint8_t> data(size, 0x5a);
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  const double cpu0 = cpu_seconds();
  uint64_t sent = 0;
  bool failed = false;
  while (!failed && std::chrono::steady_clock::now() < deadline) {
    size_t off = 0;
    while (off < size) {  // a short send goes on with the rest, like the link
      io_uring_sqe* sqe = io_uring_get_sqe(&ring);
      if (zc) io_uring_prep_send_zc(sqe, fds[0], data.data() + off, size - off, MSG_NOSIGNAL, 0);
      else io_uring_prep_send(sqe, fds[0], data.data() + off, size - off, MSG_NOSIGNAL);
      io_uring_submit(&ring);
      // Copied: one completion. Zero-copy: the result (flagged MORE), then the notification that
      // the kernel let go of the buffer (flagged NOTIF); only then may it be reused.
      bool result_seen = false, notified = !zc;
      while (!result_seen || !notified) {
        io_uring_cqe* cqe = nullptr;
        if (io_uring_wait_cqe(&ring, &cqe) != 0) {
          failed = true;
          break;
        }
        if (cqe->flags & IORING_CQE_F_NOTIF) {
          notified = true;
        } else {
          result_seen = true;
          if (cqe->res <= 0) failed = true;
          else off += static_cast<size_t>(cqe->res);
          if (zc && !(cqe->flags & IORING_CQE_F_MORE)) notified = true;  // no notification follows
        }
        io_uring_cqe_seen(&ring, cqe);
      }
      if (failed) break;
    }
    sent += size;
  }
  shutdown(fds[0], SHUT_WR);
  receiver.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = cpu_seconds() - cpu0;
  close(fds[0]);
  close(fds[1]);
  r.ok = !failed && received == sent;
  r.bytes_per_sec = static_cast<double>(sent) / wall;
  r.cpu_ns_per_mib = cpu * 1e9 / (static_cast<double>(sent) / (1 << 20));
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 1.5;
  std::vector<size_t> sizes = {16384, 65536, 262144, 1048576};
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0) seconds = std::atof(argv[i + 1]);
    if (std::strcmp(argv[i], "--sizes") == 0) {
      sizes.clear();
      for (char* p = argv[i + 1]; *p != '\0';) {
        sizes.push_back(std::strtoull(p, &p, 10));
        if (*p == ',') p++;
      }
    }
  }
  io_uring ring;
  if (io_uring_queue_init(8, &ring, 0) != 0) {
    std::fprintf(stderr, "bench_send_zc: io_uring_queue_init failed\n");
    return 1;
  }
  for (size_t size : sizes) {
    for (bool zc : {false, true}) {
      const Result r = run(ring, size, zc, seconds);
      std::printf("{\"size\":%zu,\"mode\":\"%s\",\"ok\":%s,\"bytes_per_sec\":%.0f,\"cpu_ns_per_mib\":%.0f}\n", size, zc ? "send_zc" : "send",
                  r.ok ? "true" : "false", r.bytes_per_sec, r.cpu_ns_per_mib);
      std::fflush(stdout);
    }
  }
  io_uring_queue_exit(&ring);
  return 0;
}
