#include "transport/quic_server.h"

#include <ngtcp2/ngtcp2_crypto.h>

#include <cstring>
#include <vector>

#include "transport/event_loop.h"
#include "transport/h3_session.h"
#include "transport/os_random.h"

namespace sockudo::transport {

namespace {

std::string key_of(const uint8_t* data, size_t len) { return std::string(reinterpret_cast<const char*>(data), len); }

// How long a Retry token is good for (RFC 9000 §8.1.3: short, it only proves the address now).
constexpr ngtcp2_duration kRetryTokenTimeout = 10 * NGTCP2_SECONDS;

}  // namespace

QuicServer* QuicServer::create(Loop& loop, const ListenOptions& options, std::shared_ptr<const SocketConfig> config,
                               ServerHandler* handler, int* error) {
  auto* s = new QuicServer(loop, std::move(config), handler);
  s->socket_ = UdpSocket::open(loop, options, s, error);
  if (s->socket_ == nullptr) {
    s->destroyed_ = true;
    delete s;
    return nullptr;
  }
  return s;
}

QuicServer::QuicServer(Loop& loop, std::shared_ptr<const SocketConfig> config, ServerHandler* handler)
    : loop_(loop), config_(std::move(config)), handler_(handler) {
  OsRandom().fill(secret_, sizeof secret_);
  loop_.add_member(this);
}

QuicServer::~QuicServer() { loop_.remove_member(this); }

void QuicServer::on_datagram(const Datagram& d) {
  if (destroyed_) return;
  ngtcp2_version_cid vc;
  const int rv = ngtcp2_pkt_decode_version_cid(&vc, d.data, d.len, H3Session::kScidLen);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (!closing_) send_version_negotiation(d, vc);
    return;
  }
  if (rv != 0) return;
  auto it = routes_.find(key_of(vc.dcid, vc.dcidlen));
  if (it != routes_.end()) {
    ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&socket_->local())), socket_->local_len()},
                     {reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr*>(d.remote)), d.remote_len},
                     nullptr};
    ngtcp2_pkt_info info{d.ecn};
    it->second->receive(path, info, d.data, d.len);
    return;
  }
  if ((d.data[0] & 0x80) != 0) {  // a long header: maybe a new connection
    if (!closing_) accept(d, vc);
    return;
  }
  send_stateless_reset(d, vc);
}

void QuicServer::accept(const Datagram& d, const ngtcp2_version_cid& vc) {
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, d.data, d.len) != 0) return;  // not an Initial we take (or 0-RTT ahead of it)
  if (handshaking_.size() >= kMaxHandshaking) return;
  H3Session::Accepted a{};
  a.dcid = hd.dcid;
  a.scid = hd.scid;
  a.version = hd.version;
  const uint64_t now = uv_hrtime();
  if (hd.tokenlen > 0 && hd.token[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY2) {
    // RFC 9000 §8.1.2: the token of our Retry proves the address; it also names the original ID.
    if (ngtcp2_crypto_verify_retry_token2(&a.ocid, hd.token, hd.tokenlen, secret_, QuicEndpoint::kSecretLen, hd.version,
                                          d.remote, d.remote_len, &hd.dcid, kRetryTokenTimeout, now) != 0) {
      return;  // forged, expired or from elsewhere: drop (§8.1.2 allows INVALID_TOKEN; silence is cheaper)
    }
    a.retried = true;
    a.token = hd.token;
    a.tokenlen = hd.tokenlen;
    a.token_type = NGTCP2_TOKEN_TYPE_RETRY;
  } else if (handshaking_.size() >= config_->http3.retry_above) {
    send_retry(d, hd);
    return;
  }
  (void)vc;
  ngtcp2_path path{{reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr_storage*>(&socket_->local())), socket_->local_len()},
                   {reinterpret_cast<ngtcp2_sockaddr*>(const_cast<sockaddr*>(d.remote)), d.remote_len},
                   nullptr};
  H3Session* s = H3Session::create(*this, loop_, config_, handler_, a, path);
  if (s == nullptr) return;
  sessions_.insert(s);
  handshaking_.insert(s);
  ngtcp2_pkt_info info{d.ecn};
  s->receive(path, info, d.data, d.len);
}

void QuicServer::send_retry(const Datagram& d, const ngtcp2_pkt_hd& hd) {
  ngtcp2_cid scid;
  scid.datalen = H3Session::kScidLen;
  OsRandom().fill(scid.data, scid.datalen);
  uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN2];
  const ngtcp2_ssize tokenlen = ngtcp2_crypto_generate_retry_token2(token, secret_, QuicEndpoint::kSecretLen, hd.version, d.remote,
                                                                    d.remote_len, &scid, &hd.dcid, uv_hrtime());
  if (tokenlen < 0) return;
  uint8_t buf[1200];
  const ngtcp2_ssize n = ngtcp2_crypto_write_retry(buf, sizeof buf, hd.version, &hd.scid, &scid, &hd.dcid, token,
                                                  static_cast<size_t>(tokenlen));
  if (n > 0) socket_->send(d.remote, d.remote_len, buf, static_cast<size_t>(n), 0);
}

void QuicServer::send_version_negotiation(const Datagram& d, const ngtcp2_version_cid& vc) {
  const uint32_t versions[] = {NGTCP2_PROTO_VER_V1, NGTCP2_PROTO_VER_V2};
  uint8_t unused;
  OsRandom().fill(&unused, 1);
  uint8_t buf[256];
  // §6.1: our reply's destination is the client's source ID and vice versa.
  const ngtcp2_ssize n = ngtcp2_pkt_write_version_negotiation(buf, sizeof buf, unused, vc.scid, vc.scidlen, vc.dcid,
                                                              vc.dcidlen, versions, 2);
  if (n > 0) socket_->send(d.remote, d.remote_len, buf, static_cast<size_t>(n), 0);
}

void QuicServer::send_stateless_reset(const Datagram& d, const ngtcp2_version_cid& vc) {
  // §10.3: the smallest short-header packet is 21 bytes; a reset must be smaller than what
  // provoked it (§10.3.3), so that two endpoints cannot loop.
  if (d.len < 1 + NGTCP2_MIN_STATELESS_RESET_RANDLEN + NGTCP2_STATELESS_RESET_TOKENLEN + 1 ||
      vc.dcidlen != H3Session::kScidLen)
    return;
  const uint64_t turn = loop_.now_ms();
  if (turn != reset_turn_) {
    reset_turn_ = turn;
    resets_this_turn_ = 0;
  }
  if (++resets_this_turn_ > kResetsPerTurn) return;
  ngtcp2_cid cid;
  ngtcp2_cid_init(&cid, vc.dcid, vc.dcidlen);
  ngtcp2_stateless_reset_token token;
  if (ngtcp2_crypto_generate_stateless_reset_token(token.data, secret_, QuicEndpoint::kSecretLen, &cid) != 0) return;
  const size_t randlen = std::min<size_t>(d.len - 2 - NGTCP2_STATELESS_RESET_TOKENLEN, 64);
  uint8_t rand[64];
  OsRandom().fill(rand, randlen);
  uint8_t buf[128];
  const ngtcp2_ssize n = ngtcp2_pkt_write_stateless_reset2(buf, sizeof buf, &token, rand, randlen);
  if (n > 0) socket_->send(d.remote, d.remote_len, buf, static_cast<size_t>(n), 0);
}

void QuicServer::route(const ngtcp2_cid& cid, H3Session* session) { routes_[key_of(cid.data, cid.datalen)] = session; }

void QuicServer::unroute(const ngtcp2_cid& cid) {
  auto it = routes_.find(key_of(cid.data, cid.datalen));
  if (it != routes_.end()) routes_.erase(it);
}

void QuicServer::handshake_finished(H3Session* session) { handshaking_.erase(session); }

void QuicServer::session_gone(H3Session* session) {
  sessions_.erase(session);
  handshaking_.erase(session);
  blocked_.erase(session);
  maybe_finish();
}

int QuicServer::send(const sockaddr* to, socklen_t to_len, const uint8_t* data, size_t len, size_t segment) {
  return socket_ != nullptr ? socket_->send(to, to_len, data, len, segment) : -EBADF;
}

void QuicServer::wait_writable(H3Session* session) {
  blocked_.insert(session);
  socket_->wait_writable(true);
}

void QuicServer::on_udp_writable() {
  std::vector<H3Session*> waiting(blocked_.begin(), blocked_.end());
  blocked_.clear();
  for (H3Session* s : waiting)
    if (sessions_.count(s) != 0) s->on_writable();
}

void QuicServer::close_gracefully() {
  if (closing_ || destroyed_) return;
  closing_ = true;
  for (H3Session* s : std::vector<H3Session*>(sessions_.begin(), sessions_.end()))
    if (sessions_.count(s) != 0) s->close_gracefully();
  maybe_finish();
}

void QuicServer::maybe_finish() {
  if (closing_ && !destroyed_ && sessions_.empty()) destroy();
}

void QuicServer::destroy() {
  if (destroyed_) return;
  destroyed_ = true;
  closing_ = true;
  for (H3Session* s : std::vector<H3Session*>(sessions_.begin(), sessions_.end()))
    if (sessions_.count(s) != 0) s->destroy();
  sessions_.clear();
  routes_.clear();
  if (socket_ != nullptr) socket_->close();
  socket_ = nullptr;
  delete this;
}

}  // namespace sockudo::transport
