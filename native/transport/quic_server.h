// A server's QUIC endpoint (RFC 9000): one UDP socket (udp_socket.h) on the TCP listener's port,
// and the connections on it (h3_session.h), found by the destination connection ID of each
// datagram (§5.2). What arrives for no connection is answered statelessly:
// - an Initial packet of a version we speak starts a connection; under load (more than
//   SocketConfig::Http3::retry_above connections still in their handshake; 0: always) the client
//   is first sent a Retry and must echo its token (§8.1.2: address validation before spending
//   state), and past
//   kMaxHandshaking such connections new ones are dropped;
// - a long-header packet of another version gets Version Negotiation (§6);
// - a short-header packet for an unknown ID gets a Stateless Reset (§10.3), at most
//   kResetsPerTurn per loop turn and never one as large as what provoked it (§10.3.3);
// - anything else is dropped.
// Amplification before address validation (3×, §8.1) and every per-connection limit are
// ngtcp2's. Tokens and reset tokens derive from a random secret per server.
#pragma once

#include <ngtcp2/ngtcp2.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "transport/endpoint.h"
#include "transport/loop_member.h"
#include "transport/quic_endpoint.h"
#include "transport/udp_socket.h"

namespace sockudo::transport {

class H3Session;

class QuicServer final : public QuicEndpoint, public UdpEvents, public LoopMember {
 public:
  static constexpr size_t kMaxHandshaking = 4096;
  static constexpr uint32_t kResetsPerTurn = 64;

  // Binds UDP on host:port (the TCP listener's actual port). Null with *error = -errno.
  static QuicServer* create(Loop& loop, const ListenOptions& options, std::shared_ptr<const SocketConfig> config,
                            ServerHandler* handler, int* error);

  // Every connection is sent GOAWAY; the socket closes once the last connection has ended.
  void close_gracefully();
  // Ends every connection and the socket now (teardown, or a server dropped while closing).
  void destroy() override;
  void flush_from_loop() override {}
  const SocketAddress& address() const { return socket_->address(); }
  size_t connection_count() const { return sessions_.size(); }

  // QuicEndpoint
  void route(const ngtcp2_cid& cid, H3Session* session) override;
  void unroute(const ngtcp2_cid& cid) override;
  void session_gone(H3Session* session) override;
  void handshake_finished(H3Session* session) override;
  int send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment) override;
  void wait_writable(H3Session* session) override;
  const uint8_t* secret() const override { return secret_; }
  uint8_t* packet_buffer() override { return packet_buffer_.get(); }

  // UdpEvents
  void on_datagram(const Datagram& datagram) override;
  void on_udp_writable() override;

 private:
  QuicServer(Loop& loop, std::shared_ptr<const SocketConfig> config, ServerHandler* handler);
  ~QuicServer() override;
  void accept(const Datagram& d, const ngtcp2_version_cid& vc);
  void send_retry(const Datagram& d, const ngtcp2_pkt_hd& hd);
  void send_version_negotiation(const Datagram& d, const ngtcp2_version_cid& vc);
  void send_stateless_reset(const Datagram& d, const ngtcp2_version_cid& vc);
  void maybe_finish();

  Loop& loop_;
  std::shared_ptr<const SocketConfig> config_;
  ServerHandler* handler_;
  UdpSocket* socket_ = nullptr;
  std::unordered_map<std::string, H3Session*> routes_;  // connection ID bytes → connection
  std::unordered_set<H3Session*> sessions_;
  std::unordered_set<H3Session*> handshaking_;
  std::unordered_set<H3Session*> blocked_;  // waiting for the socket to take datagrams
  uint8_t secret_[kSecretLen];
  std::unique_ptr<uint8_t[]> packet_buffer_ = std::make_unique<uint8_t[]>(kPacketBufferSize);
  uint64_t reset_turn_ = 0;
  uint32_t resets_this_turn_ = 0;
  bool closing_ = false;
  bool destroyed_ = false;
};

}  // namespace sockudo::transport
