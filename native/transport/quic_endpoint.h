// What a QUIC connection (h3_session.h) needs from the UDP side it lives on: a server's endpoint
// (quic_server.h: one socket, many connections found by connection ID) or a client connection's
// own socket (quic_client.h).
#pragma once

#include <ngtcp2/ngtcp2.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace sockudo::transport {

class H3Session;

class QuicEndpoint {
 public:
  static constexpr size_t kSecretLen = 32;
  // Where connections write their packets (writes are synchronous: one buffer serves them all).
  static constexpr size_t kPacketBufferSize = 64 * 1024;

  virtual ~QuicEndpoint() = default;
  // Datagrams for `cid` go to `session` (a server routes by ID; a client has one connection).
  virtual void route(const ngtcp2_cid& cid, H3Session* session) = 0;
  virtual void unroute(const ngtcp2_cid& cid) = 0;
  virtual void handshake_finished(H3Session* session) = 0;
  // The connection is gone (destroyed): called once, last.
  virtual void session_gone(H3Session* session) = 0;
  // 0, -EAGAIN (wait_writable, then on_writable), or -errno (the datagrams are lost).
  virtual int send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment) = 0;
  virtual void wait_writable(H3Session* session) = 0;
  // The secret stateless reset tokens (and a server's Retry tokens) derive from.
  virtual const uint8_t* secret() const = 0;
  virtual uint8_t* packet_buffer() = 0;
};

}  // namespace sockudo::transport
