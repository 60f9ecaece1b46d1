#include "transport/udp_socket.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "transport/event_loop.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

namespace sockudo::transport {

UdpSocket* UdpSocket::open(Loop& loop, const ListenOptions& o, UdpEvents* events, int* error) {
  sockaddr_storage addr;
  socklen_t len;
  const bool any6 = o.host.empty();
  if (!parse_numeric_address(any6 ? "::" : o.host, o.port, addr, len)) {
    *error = -EINVAL;
    return nullptr;
  }
  int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && any6 && errno == EAFNOSUPPORT) {
    parse_numeric_address("0.0.0.0", o.port, addr, len);
    fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  }
  if (fd < 0) {
    *error = -errno;
    return nullptr;
  }
  int one = 1, zero = 0;
  if (o.reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (addr.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, o.ipv6_only ? &one : &zero, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one);
  }
  // ECN of received packets (RFC 9000 §13.4); on a dual-stack socket IPv4 needs its own option.
  setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof one);
  // A burst of new clients (each Initial is ≥ 1200 bytes, RFC 9000 §14.1) overflows the default
  // receive buffer (~208 KiB): lost Initials cost each client a 1 s probe timeout. Ask for more;
  // the kernel caps it at net.core.rmem_max (raise that for heavy HTTP/3 load).
  int rcvbuf = kSocketBufferSize;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &rcvbuf, sizeof rcvbuf);
  // RFC 9000 §14: QUIC datagrams must not be fragmented.
  int pmtu = IP_PMTUDISC_DO;
  setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu);
  if (addr.ss_family == AF_INET6) {
    int pmtu6 = IPV6_PMTUDISC_DO;
    setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu6, sizeof pmtu6);
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    *error = -errno;
    ::close(fd);
    return nullptr;
  }
  return start(loop, fd, events);
}

UdpSocket* UdpSocket::open_connected(Loop& loop, const std::string& ip, uint16_t port, UdpEvents* events, int* error) {
  sockaddr_storage addr;
  socklen_t len;
  if (!parse_numeric_address(ip, port, addr, len)) {
    *error = -EINVAL;
    return nullptr;
  }
  const int fd = socket(addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = -errno;
    return nullptr;
  }
  int one = 1;
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof one);
  else setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof one);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    *error = -errno;
    ::close(fd);
    return nullptr;
  }
  return start(loop, fd, events);
}

// A bound (or connected) descriptor on the loop: its local address noted, reading from now on.
UdpSocket* UdpSocket::start(Loop& loop, int fd, UdpEvents* events) {
  auto* s = new UdpSocket(loop, fd, events);
  s->local_len_ = sizeof s->local_;
  getsockname(fd, reinterpret_cast<sockaddr*>(&s->local_), &s->local_len_);
  local_address(fd, s->address_);
  s->update_poll();
  return s;
}

UdpSocket::UdpSocket(Loop& loop, int fd, UdpEvents* events)
    : loop_(loop), fd_(fd), events_(events), buffer_(std::make_unique<uint8_t[]>(kBatch * kSlotSize)) {
  uv_poll_init_socket(loop_.uv(), &poll_, fd_);
  poll_.data = this;
}

void UdpSocket::update_poll() {
  if (closed_) return;
  uv_poll_start(&poll_, UV_READABLE | (writable_wanted_ ? UV_WRITABLE : 0), &UdpSocket::on_poll);
}

void UdpSocket::wait_writable(bool on) {
  if (on == writable_wanted_) return;
  writable_wanted_ = on;
  update_poll();
}

void UdpSocket::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  if (self->closed_) return;
  if (status < 0) events = UV_READABLE;  // an error is read (and cleared) by the next recvmmsg
  if (events & UV_READABLE) self->loop_.schedule_read(self);
  if ((events & UV_WRITABLE) && self->writable_wanted_) {
    self->writable_wanted_ = false;
    self->update_poll();
    Loop::CallbackScope scope(self->loop_);
    self->events_->on_udp_writable();
  }
}

namespace {

uint8_t ecn_of(msghdr& h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)) {
      if (c->cmsg_len >= CMSG_LEN(sizeof(int)) && c->cmsg_level == IPPROTO_IPV6) {
        int v;
        std::memcpy(&v, CMSG_DATA(c), sizeof v);
        return static_cast<uint8_t>(v & 0x3);
      }
      if (c->cmsg_len >= CMSG_LEN(1)) return static_cast<uint8_t>(*CMSG_DATA(c) & 0x3);
    }
  }
  return 0;
}

}  // namespace

// Runs inside the loop's read scope (JS may be entered by a datagram's WebSocket events).
void UdpSocket::read_from_loop() {
  size_t taken = 0;
  while (!closed_ && taken < kMaxDatagramsPerTurn) {
    mmsghdr msgs[kBatch];
    iovec iov[kBatch];
    sockaddr_storage from[kBatch];
    alignas(cmsghdr) uint8_t control[kBatch][64];
    for (size_t i = 0; i < kBatch; i++) {
      iov[i] = {buffer_.get() + i * kSlotSize, kSlotSize};
      std::memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_namelen = sizeof from[i];
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = control[i];
      msgs[i].msg_hdr.msg_controllen = sizeof control[i];
    }
    const int n = recvmmsg(fd_, msgs, kBatch, MSG_DONTWAIT, nullptr);
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      events_->on_udp_error(errno);  // a connected socket's ICMP error (the next read goes on)
      return;
    }
    if (n <= 0) return;
    for (int i = 0; i < n && !closed_; i++) {
      if ((msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0) continue;  // larger than any QUIC peer should send
      Datagram d{buffer_.get() + i * kSlotSize, msgs[i].msg_len, reinterpret_cast<const sockaddr*>(&from[i]),
                 msgs[i].msg_hdr.msg_namelen, ecn_of(msgs[i].msg_hdr)};
      events_->on_datagram(d);
    }
    taken += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < kBatch) return;
  }
  if (!closed_) loop_.schedule_read(this);  // more may be waiting: the next turn reads on
}

int UdpSocket::send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment) {
  if (closed_) return -EBADF;
  for (;;) {
    iovec iov{const_cast<uint8_t*>(data), len};
    msghdr h{};
    h.msg_name = const_cast<sockaddr*>(to);
    h.msg_namelen = to_len;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(uint16_t))];
    const bool gso = segment > 0 && segment < len;
    if (gso && gso_) {
      std::memset(control, 0, sizeof control);
      h.msg_control = control;
      h.msg_controllen = sizeof control;
      cmsghdr* c = CMSG_FIRSTHDR(&h);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const uint16_t seg = static_cast<uint16_t>(segment);
      std::memcpy(CMSG_DATA(c), &seg, sizeof seg);
    } else if (gso) {
      // No segmentation offload: one datagram per call.
      for (size_t off = 0; off < len; off += segment) {
        const int rv = send(to, to_len, data + off, std::min(segment, len - off), 0);
        if (rv != 0) return rv;  // -EAGAIN loses the rest of this batch: QUIC retransmits
      }
      return 0;
    }
    if (sendmsg(fd_, &h, MSG_DONTWAIT) >= 0) return 0;
    const int e = errno;
    if (e == EINTR) continue;
    if (gso && gso_ && (e == EIO || e == EINVAL)) {  // the kernel or device has no UDP GSO
      gso_ = false;
      continue;
    }
    return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS ? -EAGAIN : -e;
  }
}

void UdpSocket::close() {
  if (closed_) return;
  closed_ = true;
  loop_.unschedule_read(this);
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), &UdpSocket::on_closed);
}

void UdpSocket::on_closed(uv_handle_t* handle) {
  auto* self = static_cast<UdpSocket*>(handle->data);
  ::close(self->fd_);
  delete self;
}

}  // namespace sockudo::transport
