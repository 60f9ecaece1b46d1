#include "transport/quic_client.h"

#include "transport/h3_session.h"
#include "transport/os_random.h"

namespace sockudo::transport {

QuicClient* QuicClient::open(Loop& loop, const std::string& ip, uint16_t port, int* error) {
  auto* c = new QuicClient();
  if (!parse_numeric_address(ip, port, c->remote_, c->remote_len_)) {
    *error = -EINVAL;
    delete c;
    return nullptr;
  }
  c->socket_ = UdpSocket::open_connected(loop, ip, port, c, error);
  if (c->socket_ == nullptr) {
    delete c;
    return nullptr;
  }
  OsRandom().fill(c->secret_, sizeof c->secret_);
  return c;
}

void QuicClient::discard() {
  socket_->close();
  delete this;
}

void QuicClient::session_gone(H3Session*) {
  session_ = nullptr;
  discard();
}

int QuicClient::send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment) {
  return socket_->send(to, to_len, data, len, segment);
}

void QuicClient::wait_writable(H3Session*) { socket_->wait_writable(true); }

void QuicClient::on_datagram(const Datagram& d) {
  if (session_ == nullptr) return;
  ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&socket_->local())), socket_->local_len()},
                   {reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr*>(d.remote)), d.remote_len},
                   nullptr};
  ngtcp2_pkt_info info{d.ecn};
  session_->receive(path, info, d.data, d.len);
}

void QuicClient::on_udp_writable() {
  if (session_ != nullptr) session_->on_writable();
}

void QuicClient::on_udp_error(int error) {
  if (session_ != nullptr) session_->on_socket_error(error);
}

}  // namespace sockudo::transport
