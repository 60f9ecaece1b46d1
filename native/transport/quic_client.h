// A client QUIC connection's own UDP side (quic_endpoint.h): one socket on an ephemeral port,
// connected to the server (so an ICMP port unreachable fails the attempt at once instead of
// after the handshake timeout), carrying one connection (h3_session.h). Frees itself with it.
#pragma once

#include <memory>
#include <string>

#include "transport/quic_endpoint.h"
#include "transport/udp_socket.h"

namespace sockudo::transport {

class QuicClient final : public QuicEndpoint, public UdpEvents {
 public:
  // The socket for a connection to ip:port; null with *error = -errno.
  static QuicClient* open(Loop& loop, const std::string& ip, uint16_t port, int* error);
  void attach(H3Session* session) { session_ = session; }
  // No connection will be attached (it could not be created): closes the socket, frees this.
  void discard();
  const sockaddr_storage& local() const { return socket_->local(); }
  socklen_t local_len() const { return socket_->local_len(); }
  const sockaddr_storage& remote() const { return remote_; }
  socklen_t remote_len() const { return remote_len_; }

  // QuicEndpoint
  void route(const ngtcp2_cid&, H3Session*) override {}
  void unroute(const ngtcp2_cid&) override {}
  void handshake_finished(H3Session*) override {}
  void session_gone(H3Session* session) override;
  int send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment) override;
  void wait_writable(H3Session* session) override;
  const uint8_t* secret() const override { return secret_; }
  uint8_t* packet_buffer() override { return buffer_.get(); }

  // UdpEvents
  void on_datagram(const Datagram& datagram) override;
  void on_udp_writable() override;
  void on_udp_error(int error) override;

 private:
  QuicClient() = default;
  ~QuicClient() override = default;

  UdpSocket* socket_ = nullptr;
  H3Session* session_ = nullptr;
  sockaddr_storage remote_{};
  socklen_t remote_len_ = 0;
  uint8_t secret_[kSecretLen];
  std::unique_ptr<uint8_t[]> buffer_ = std::make_unique<uint8_t[]>(kPacketBufferSize);
};

}  // namespace sockudo::transport
