// Connection state machine: Idle → Connecting → Handshaking → Open → Closing → Closed.
#include "conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "clock.h"
#include "frame_writer.h"
#include "h2_mux.h"
#include "handshake.h"
#include "random.h"

namespace sockudo::loadgen {

Conn::Conn(Loop& loop, const Endpoint& endpoint, ConnHandler& handler, uint32_t id,
           bool offer_deflate, TlsContext* tls, StreamMux* mux)
    : loop_(loop), endpoint_(endpoint), handler_(handler), id_(id), offer_deflate_(offer_deflate), tls_ctx_(tls), mux_(mux) {
  // §5.3: the key must be unpredictable; an all-zero key would leave the payload unmasked.
  do {
    fill_random(mask_key_, sizeof mask_key_);
  } while ((mask_key_[0] | mask_key_[1] | mask_key_[2] | mask_key_[3]) == 0);
}

Conn::~Conn() {
  if (fd_ >= 0) ::close(fd_);
}

void Conn::start() {
  started_ns_ = now_ns();
  if (mux_ != nullptr) {  // RFC 8441: an extended CONNECT on the mux's connection
    state_ = State::Handshaking;
    mux_->open(this);
    return;
  }
  state_ = State::Connecting;
  fd_ = socket(endpoint_.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    finish(false, std::string("socket: ") + strerror(errno));
    return;
  }
  const int one = 1;  // small frames must leave at once: latency is what we measure
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&endpoint_.addr), endpoint_.addr_len);
  if (rc != 0 && errno != EINPROGRESS) {
    finish(false, std::string("connect: ") + strerror(errno));
    return;
  }
  if (!loop_.add(fd_, this)) {
    finish(false, std::string("epoll_ctl: ") + strerror(errno));
    return;
  }
  if (rc == 0) connected();
}

void Conn::connected() {
  state_ = State::Handshaking;
  const UpgradeRequest req = make_upgrade_request(endpoint_.host_header, endpoint_.path, offer_deflate_);
  key_ = req.key;
  std::memcpy(out_.append(req.bytes.size()), req.bytes.data(), req.bytes.size());
  // With TLS the request waits in the queue until the TLS handshake completes.
  if (tls_ctx_ && !tls_start()) return;
  want_flush();
}

void Conn::on_io(uint32_t events) {
  if (state_ == State::Closed) return;
  if (state_ == State::Connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      finish(false, std::string("connect: ") + strerror(err));
      return;
    }
    connected();
    if (state_ == State::Closed) return;  // the TLS session could not start
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) read_all(events);
  if (state_ == State::Closed) return;
  if ((events & EPOLLOUT) && (!out_.empty() || tls_)) flush();
}

void Conn::read_all(uint32_t events) {
  // Edge-triggered: read until the socket is empty. A short read means it was drained, unless
  // the peer also hung up (then keep reading to see the EOF, which brings no new edge).
  const bool hangup = events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR);
  uint8_t* buf = loop_.recv_buffer();
  const size_t cap = loop_.recv_capacity();
  for (;;) {
    const ssize_t n = read(fd_, buf, cap);
    if (n > 0) {
      bytes_in_ += static_cast<uint64_t>(n);
      if (tls_) {
        tls_input(buf, static_cast<size_t>(n));
      } else {
        handle_input(buf, static_cast<size_t>(n));
      }
      if (state_ == State::Closed) return;
      if (static_cast<size_t>(n) < cap && !hangup) break;
      continue;
    }
    if (n == 0) {
      end_of_input();
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    finish(false, std::string("read: ") + strerror(errno));
    return;
  }
  handler_.on_read_done(*this);
}

// The server's EOF (or its TLS close_notify).
void Conn::end_of_input() {
  if (state_ == State::Handshaking) {
    finish(false, tls_ && !tls_->established() ? "server closed the connection during the TLS handshake"
                                               : "server closed the connection during the handshake");
  } else {
    finish(close_sent_ && close_received_,
           close_received_ ? "closed by the server" : "server closed TCP without a close frame");
  }
}

void Conn::handle_input(const uint8_t* data, size_t len) {
  if (state_ == State::Handshaking) {
    handshake_input(data, len);
  } else if (state_ == State::Open || state_ == State::Closing) {
    frame_input(data, len);
  }
}

void Conn::handshake_input(const uint8_t* data, size_t len) {
  head_.append(reinterpret_cast<const char*>(data), len);
  const size_t head_len = response_head_length(head_);
  if (head_len == 0) {
    if (head_.size() > kMaxResponseHead) finish(false, "handshake: response head larger than 16 KiB");
    return;
  }
  const UpgradeResult r = check_upgrade_response(std::string_view(head_).substr(0, head_len), key_, offer_deflate_);
  if (!r.ok) {
    finish(false, "handshake: " + r.error);
    return;
  }
  if (r.deflate) {
    codec_ = std::make_unique<DeflateCodec>(r.deflate_params);
    parser_.allow_rsv1(true);
  }
  // Frames may arrive in the same read as the 101: keep them for the parser.
  const std::string rest = head_.substr(head_len);
  std::string().swap(head_);
  std::string().swap(key_);
  state_ = State::Open;
  ++loop_.stats.opened;
  loop_.stats.handshake_ns.record(now_ns() - started_ns_);
  handler_.on_open(*this);
  if (state_ == State::Open && !rest.empty()) {
    frame_input(reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
  }
}

void Conn::frame_input(const uint8_t* data, size_t len) {
  if (parser_.stopped()) return;  // after a close frame nothing more is read (§5.5.1)
  if (!parser_.feed(data, len, *this)) {
    // §7.1.7: fail the connection, telling the server why with 1002 where we still can.
    if (state_ == State::Open) {
      const uint8_t code[2] = {1002 >> 8, 1002 & 0xFF};
      send_frame(kClose, false, code, 2);
      close_sent_ = true;
      flush();
    }
    if (state_ != State::Closed) finish(false, "protocol error: " + parser_.error());
  }
}

bool Conn::on_message_begin(uint8_t opcode, bool compressed) {
  message_compressed_ = compressed;
  handler_.on_message_begin(*this, static_cast<Opcode>(opcode));
  return state_ != State::Closed;
}

bool Conn::on_message_data(const uint8_t* data, size_t len) {
  if (!message_compressed_) {
    handler_.on_message_data(*this, data, len);
    return state_ != State::Closed;
  }
  scratch_.clear();
  std::string error;
  if (!codec_->inflate(data, len, scratch_, error)) {
    finish(false, "permessage-deflate: " + error);
    return false;
  }
  if (!scratch_.empty()) handler_.on_message_data(*this, scratch_.data(), scratch_.size());
  return state_ != State::Closed;
}

bool Conn::on_message_end() {
  if (message_compressed_) {
    scratch_.clear();
    std::string error;
    if (!codec_->finish_message(scratch_, error)) {
      finish(false, "permessage-deflate: " + error);
      return false;
    }
    if (!scratch_.empty()) handler_.on_message_data(*this, scratch_.data(), scratch_.size());
    if (state_ == State::Closed) return false;
    ++compressed_in_;
  }
  handler_.on_message_end(*this);
  return state_ != State::Closed;
}

bool Conn::on_control(uint8_t opcode, const uint8_t* payload, size_t len) {
  switch (opcode) {
    case kPing:  // §5.5.2/§5.5.3: answer with a pong carrying the same application data
      if (state_ == State::Open) send_frame(kPong, false, payload, len);
      return true;
    case kPong:
      return true;
    default:  // kClose
      close_received_ = true;
      if (!close_sent_) {  // §5.5.1: answer with a close frame, echoing the status code
        send_frame(kClose, false, payload, len >= 2 ? 2 : 0);
        close_sent_ = true;
      }
      state_ = State::Closing;
      return false;  // the server sends nothing after its close frame (§5.5.1)
  }
}

void Conn::send_frame(Opcode opcode, bool rsv1, const uint8_t* payload, size_t len) {
  const size_t total = client_header_size(len) + len;
  write_client_frame(out_.append(total), opcode, rsv1, payload, len, mask_key_);
  want_flush();
}

void Conn::send(Opcode opcode, const uint8_t* payload, size_t len) {
  if (state_ != State::Open) return;
  if (codec_ && (opcode == kText || opcode == kBinary)) {
    // RFC 7692 §6: compressed data in the payload, RSV1 on the (only) frame.
    compress_buf_.clear();
    codec_->compress(payload, len, compress_buf_);
    send_frame(opcode, true, compress_buf_.data(), compress_buf_.size());
    return;
  }
  send_frame(opcode, false, payload, len);
}

PreparedMessage Conn::prepare(Opcode opcode, std::vector<uint8_t> payload, size_t block_bytes) {
  PreparedMessage m;
  m.opcode = opcode;
  m.payload = std::move(payload);
  const uint8_t* body = m.payload.data();
  size_t body_len = m.payload.size();
  std::vector<uint8_t> compressed;
  if (codec_) {
    // With context takeover each message compresses differently: nothing to reuse.
    if (!codec_->outgoing_reusable()) return m;
    codec_->compress(body, body_len, compressed);
    body = compressed.data();
    body_len = compressed.size();
  }
  m.frame_len = client_header_size(body_len) + body_len;
  m.per_block = std::max<size_t>(1, block_bytes / m.frame_len);
  m.block.resize(m.frame_len * m.per_block);
  write_client_frame(m.block.data(), opcode, codec_ != nullptr, body, body_len, mask_key_);
  for (size_t i = 1; i < m.per_block; ++i) {
    std::memcpy(m.block.data() + i * m.frame_len, m.block.data(), m.frame_len);
  }
  return m;
}

void Conn::send_prepared(const PreparedMessage& m, size_t count) {
  if (state_ != State::Open) return;
  if (m.block.empty()) {
    for (size_t i = 0; i < count; ++i) send(m.opcode, m.payload.data(), m.payload.size());
    return;
  }
  while (count > 0) {
    const size_t k = std::min(count, m.per_block);
    out_.borrow(m.block.data(), k * m.frame_len);
    count -= k;
  }
  want_flush();
}

void Conn::close(uint16_t code) {
  if (state_ == State::Connecting || state_ == State::Handshaking) {
    finish(false, "closed before the handshake completed");
    return;
  }
  if (state_ != State::Open) return;
  const uint8_t payload[2] = {static_cast<uint8_t>(code >> 8), static_cast<uint8_t>(code)};
  send_frame(kClose, false, payload, 2);
  close_sent_ = true;
  state_ = State::Closing;
}

void Conn::abort(const std::string& why) { finish(false, why); }

void Conn::want_flush() {
  if (!flush_queued_) {
    flush_queued_ = true;
    loop_.defer_flush(this);
  }
}

void Conn::flush() {
  flush_queued_ = false;
  if (state_ == State::Closed || state_ == State::Idle || state_ == State::Connecting) return;
  if (mux_ != nullptr) {  // the mux frames the queue into DATA
    if (!out_.empty()) mux_->resume(this);
    return;
  }
  if (tls_) {
    tls_flush();
    return;
  }
  if (out_.empty()) return;
  size_t written = 0;
  const OutQueue::WriteResult r = out_.write_to(fd_, written);
  bytes_out_ += written;
  if (r == OutQueue::WriteResult::Error) finish(false, std::string("write: ") + strerror(errno));
  // Blocked: the rest goes out on the next EPOLLOUT edge.
}

void Conn::finish(bool clean, const std::string& why) {
  if (state_ == State::Closed) return;
  const bool was_open = state_ == State::Open || state_ == State::Closing;
  state_ = State::Closed;
  if (mux_ != nullptr) mux_->detach(this);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  tls_.reset();
  if (was_open) {
    ++loop_.stats.closed;
  } else {
    ++loop_.stats.failed_open;
  }
  out_ = OutQueue{};
  handler_.on_closed(*this, was_open, clean, why);
}

// --- HTTP/2 (--http2) ----------------------------------------------------------------------------

// RFC 8441 §5: a 2xx answers the extended CONNECT; the stream then carries the frames.
void Conn::h2_response(int status) {
  if (state_ != State::Handshaking) return;
  if (status < 200 || status > 299) {
    finish(false, "handshake: the server answered " + std::to_string(status));
    return;
  }
  state_ = State::Open;
  ++loop_.stats.opened;
  loop_.stats.handshake_ns.record(now_ns() - started_ns_);
  handler_.on_open(*this);
}

void Conn::h2_data(const uint8_t* data, size_t len) {
  bytes_in_ += len;
  if (state_ == State::Open || state_ == State::Closing) frame_input(data, len);
}

void Conn::h2_read_done() {
  if (state_ != State::Closed) handler_.on_read_done(*this);
}

void Conn::h2_end() { end_of_input(); }

void Conn::h2_closed(const std::string& why) {
  if (state_ == State::Closed) return;
  if (why.empty()) end_of_input();
  else finish(false, why);
}

void Conn::h2_failed(const std::string& why) { finish(false, why); }

size_t Conn::h2_take_output(uint8_t* buf, size_t len) {
  iovec iov[64];
  const size_t n = out_.peek(iov, 64);
  size_t copied = 0;
  for (size_t i = 0; i < n && copied < len; i++) {
    const size_t k = std::min(len - copied, iov[i].iov_len);
    std::memcpy(buf + copied, iov[i].iov_base, k);
    copied += k;
  }
  out_.consume(copied);
  bytes_out_ += copied;
  return copied;
}

// --- TLS ----------------------------------------------------------------------------------------

bool Conn::tls_start() {
  tls_ = std::make_unique<TlsSession>(*tls_ctx_);
  if (!tls_->ok()) {
    finish(false, "TLS: cannot create the session: " + tls_->error());
    return false;
  }
  return tls_handshake_step();
}

// Runs the handshake as far as the input allows; false when it failed (the connection is closed).
bool Conn::tls_handshake_step() {
  switch (tls_->handshake()) {
    case TlsSession::Status::Ok:
      tls_established();
      return true;
    case TlsSession::Status::WantInput:
      if (tls_->out_len() > 0) want_flush();
      return true;
    default:
      finish(false, "TLS handshake failed: " + tls_->error());
      return false;
  }
}

void Conn::tls_established() {
  TlsContext& ctx = *tls_ctx_;
  ++ctx.handshakes;
  if (tls_->reused()) ++ctx.resumed;
  ctx.handshake_ns.record(now_ns() - started_ns_);
  if (ctx.protocol.empty()) {
    ctx.protocol = tls_->protocol();
    ctx.cipher = tls_->cipher();
    ctx.group = tls_->group();
  }
  want_flush();  // the upgrade request (and the handshake's last flight)
}

// Ciphertext from the socket: handshake until established, then decrypt into the shared plaintext
// buffer and hand that to handle_input, a buffer's worth at a time.
void Conn::tls_input(const uint8_t* data, size_t len) {
  tls_->feed(data, len);
  if (!tls_->established()) {
    if (!tls_handshake_step() || !tls_->established()) return;
  }
  uint8_t* plain = tls_ctx_->plain_buffer();
  const size_t cap = tls_ctx_->plain_capacity();
  size_t fill = 0;
  for (;;) {
    size_t n = 0;
    const TlsSession::Status st = tls_->read(plain + fill, cap - fill, n);
    if (st == TlsSession::Status::Ok) {
      fill += n;
      if (fill < cap) continue;
    }
    if (fill > 0) {
      handle_input(plain, fill);
      fill = 0;
      if (state_ == State::Closed) return;
    }
    if (st == TlsSession::Status::Ok) continue;
    if (st == TlsSession::Status::WantInput) break;
    if (st == TlsSession::Status::Closed) {  // close_notify: the server is done sending
      tls_->error();                         // (empties the error queue)
      end_of_input();
    } else {
      finish(false, "TLS: " + tls_->error());
    }
    return;
  }
  if (tls_->out_len() > 0) want_flush();  // what reading produced (a KeyUpdate answer, an alert)
}

// Writes waiting ciphertext, then encrypts and writes the output queue until it is empty or the
// socket is full; the rest (ciphertext and plaintext) waits for the next EPOLLOUT.
void Conn::tls_flush() {
  for (;;) {
    if (!tls_write_out()) return;
    if (!tls_->established() || out_.empty()) return;
    if (!tls_encrypt()) return;
  }
}

// true when all waiting ciphertext was written; false when the socket is full or failed.
bool Conn::tls_write_out() {
  while (tls_->out_len() > 0) {
    const ssize_t w = ::write(fd_, tls_->out_data(), tls_->out_len());
    if (w > 0) {
      bytes_out_ += static_cast<uint64_t>(w);
      tls_->out_consume(static_cast<size_t>(w));
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return false;
    finish(false, std::string("write: ") + strerror(w < 0 ? errno : EIO));
    return false;
  }
  return true;
}

// Encrypts up to kEncryptBudget bytes from the front of the output queue. Runs of whole records
// and a lone last slice go to SSL_write as they are; small slices are gathered into one record.
bool Conn::tls_encrypt() {
  constexpr size_t kRecord = TlsContext::kRecord;
  constexpr size_t kEncryptBudget = 256 * 1024;
  constexpr size_t kMaxIov = 256;
  iovec iov[kMaxIov];
  const size_t count = out_.peek(iov, kMaxIov);
  uint8_t* stage = tls_ctx_->stage_buffer();
  size_t staged = 0, taken = 0;
  for (size_t i = 0; i < count && taken < kEncryptBudget; ++i) {
    const uint8_t* p = static_cast<const uint8_t*>(iov[i].iov_base);
    size_t len = std::min(iov[i].iov_len, kEncryptBudget - taken);
    while (len > 0) {
      size_t k;
      if (staged == 0 && (len >= kRecord || i + 1 == count)) {
        k = len >= kRecord ? len - len % kRecord : len;
        if (!tls_->write(p, k)) {
          finish(false, "TLS: " + tls_->error());
          return false;
        }
      } else {
        k = std::min(len, kRecord - staged);
        std::memcpy(stage + staged, p, k);
        staged += k;
        if (staged == kRecord) {
          if (!tls_->write(stage, staged)) {
            finish(false, "TLS: " + tls_->error());
            return false;
          }
          staged = 0;
        }
      }
      p += k;
      len -= k;
      taken += k;
    }
  }
  if (staged > 0 && !tls_->write(stage, staged)) {
    finish(false, "TLS: " + tls_->error());
    return false;
  }
  out_.consume(taken);
  return true;
}

}  // namespace sockudo::loadgen
