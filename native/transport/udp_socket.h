// A bound, non-blocking UDP socket on the loop (for QUIC, quic_server.h): datagrams are read in
// batches with recvmmsg, at most kMaxDatagramsPerTurn per loop turn (the rest wait for the next
// turn, so a flood on this socket cannot hold the loop), and written with sendmsg, several
// equal-sized datagrams in one call through UDP generic segmentation offload (UDP_SEGMENT, Linux
// 4.18) where the kernel has it. Readiness comes from uv_poll; readable sockets are read in the
// loop's check phase with the other deferred readers (loop_member.h).
#pragma once

#include <sys/socket.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "transport/loop_member.h"
#include "transport/tcp.h"

namespace sockudo::transport {

class Loop;

struct Datagram {
  uint8_t* data;  // writable, valid during the call
  size_t len;
  const sockaddr* remote;
  socklen_t remote_len;
  uint8_t ecn;  // the IP header's ECN bits (0 when the kernel did not report them)
};

class UdpEvents {
 public:
  virtual ~UdpEvents() = default;
  virtual void on_datagram(const Datagram& datagram) = 0;
  // A send that reported -EAGAIN can be retried.
  virtual void on_udp_writable() = 0;
  // A connected socket's error (ECONNREFUSED: an ICMP port unreachable answered our datagrams).
  virtual void on_udp_error(int error) { (void)error; }
};

class UdpSocket final : public DeferredReader {
 public:
  static constexpr size_t kBatch = 32;            // datagrams per recvmmsg
  static constexpr size_t kSlotSize = 2048;       // larger datagrams are dropped (QUIC peers send ≤ 1500)
  static constexpr size_t kMaxDatagramsPerTurn = 256;
  static constexpr int kSocketBufferSize = 4 * 1024 * 1024;  // SO_RCVBUF / SO_SNDBUF asked for (capped by the kernel)

  // Binds to options.host:options.port (the same rules as a TCP listener: "" is "::" with IPv4
  // mapped). Null with *error = -errno.
  static UdpSocket* open(Loop& loop, const ListenOptions& options, UdpEvents* events, int* error);
  // A client's socket: an ephemeral port, connected to ip:port (so ICMP errors are reported).
  static UdpSocket* open_connected(Loop& loop, const std::string& ip, uint16_t port, UdpEvents* events, int* error);

  // Sends `len` bytes to `to`: one datagram, or datagrams of `segment` bytes (the last may be
  // shorter) when segment < len. 0, -EAGAIN (call again after on_udp_writable), or -errno
  // (the datagrams are lost; QUIC recovers).
  int send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment);
  void wait_writable(bool on);
  // Stops all I/O and closes the descriptor; frees itself once libuv is done with it.
  void close();

  const SocketAddress& address() const { return address_; }
  const sockaddr_storage& local() const { return local_; }
  socklen_t local_len() const { return local_len_; }

  void read_from_loop() override;

 private:
  UdpSocket(Loop& loop, int fd, UdpEvents* events);
  ~UdpSocket() = default;
  static UdpSocket* start(Loop& loop, int fd, UdpEvents* events);
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_closed(uv_handle_t* handle);
  void update_poll();

  Loop& loop_;
  int fd_;
  UdpEvents* events_;
  uv_poll_t poll_;
  bool writable_wanted_ = false;
  bool closed_ = false;
  bool gso_ = true;  // UDP_SEGMENT works (cleared at its first EIO / EINVAL)
  SocketAddress address_;
  sockaddr_storage local_{};
  socklen_t local_len_ = 0;
  std::unique_ptr<uint8_t[]> buffer_;  // kBatch × kSlotSize
};

}  // namespace sockudo::transport
