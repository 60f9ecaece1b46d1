// One client WebSocket connection driven by the Loop: non-blocking connect, the opening handshake
// (RFC 6455 §4.1), then frames both ways — pings answered (§5.5.2), the closing handshake
// (§5.5.1, §7.1), permessage-deflate when negotiated (RFC 7692). Scenario code sees messages
// through a ConnHandler and sends either framed-on-demand or pre-built, pre-masked frames.
// With a TlsContext (--tls) a TLS handshake follows the TCP connect and every byte after it goes
// through the connection's TlsSession; without one, bytes go straight to the socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "deflate.h"
#include "endpoint.h"
#include "frame_parser.h"
#include "loop.h"
#include "opcode.h"
#include "out_queue.h"
#include "tls.h"

namespace sockudo::loadgen {

class Conn;
class StreamMux;

// Scenario callbacks. Message payloads arrive in pieces (already inflated when compressed).
class ConnHandler {
 public:
  virtual ~ConnHandler() = default;
  virtual void on_open(Conn&) {}
  virtual void on_message_begin(Conn&, Opcode) {}
  virtual void on_message_data(Conn&, const uint8_t*, size_t) {}
  virtual void on_message_end(Conn&) {}
  // After each read's worth of input: the place to send what the read's messages asked for.
  virtual void on_read_done(Conn&) {}
  // Exactly once per started connection. `was_open`: the handshake had completed. `clean`: both
  // close frames were exchanged before the TCP connection ended (§7.1.4 "cleanly").
  virtual void on_closed(Conn&, bool was_open, bool clean, const std::string& why) {}
};

// A message framed once for one connection (its mask key) and kept ready to send many times.
struct PreparedMessage {
  Opcode opcode = kText;
  std::vector<uint8_t> payload;  // what the server must echo back
  std::vector<uint8_t> block;    // the frame repeated per_block times; empty: frame each send
  size_t frame_len = 0;
  size_t per_block = 0;
};

class Conn final : public IoHandler, public Flushable, private FrameSink {
 public:
  enum class State : uint8_t { Idle, Connecting, Handshaking, Open, Closing, Closed };

  // `tls`: null for plain TCP; otherwise the run's TLS context (it outlives the connection).
  // `mux` (--http2, --http3): the WebSocket is a stream of that connection instead (stream_mux.h).
  Conn(Loop& loop, const Endpoint& endpoint, ConnHandler& handler, uint32_t id, bool offer_deflate,
       TlsContext* tls = nullptr, StreamMux* mux = nullptr);
  ~Conn() override;
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Creates the socket and starts connecting; a failure is reported through on_closed.
  void start();

  // Frames one message now (compressing it when permessage-deflate is on) into the output queue.
  void send(Opcode opcode, const uint8_t* payload, size_t len);
  // Frames `payload` for this connection, repeated to fill `block_bytes` (at least one frame) so
  // that sending k copies costs k / per_block slices. With deflate and context takeover every send needs
  // fresh compression, so the block stays empty and send_prepared frames each copy anew.
  PreparedMessage prepare(Opcode opcode, std::vector<uint8_t> payload, size_t block_bytes = 16384);
  void send_prepared(const PreparedMessage& m, size_t count = 1);

  // Starts the closing handshake (§7.1.2); the connection ends when the server closes TCP.
  void close(uint16_t code = 1000);
  // Ends the connection now (no closing handshake); reports on_closed(..., clean=false, why).
  void abort(const std::string& why);

  void flush() override;
  void on_io(uint32_t events) override;

  State state() const { return state_; }
  bool is_open() const { return state_ == State::Open; }
  uint32_t id() const { return id_; }
  bool deflate() const { return codec_ != nullptr; }
  int64_t started_ns() const { return started_ns_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }
  uint64_t compressed_in() const { return compressed_in_; }
  size_t pending_out() const { return out_.pending_bytes(); }

  // --http2 / --http3: what the stream's mux reports (h2_mux.cc, h3_mux.cc).
  int64_t h2_stream() const { return h2_stream_; }
  void set_h2_stream(int64_t id) { h2_stream_ = id; }
  void h2_response(int status);
  void h2_data(const uint8_t* data, size_t len);
  void h2_read_done();
  void h2_end();
  void h2_closed(const std::string& why);
  void h2_failed(const std::string& why);
  size_t h2_take_output(uint8_t* buf, size_t len);
  bool h2_wants_end() const { return false; }

 private:
  bool on_message_begin(uint8_t opcode, bool compressed) override;
  bool on_message_data(const uint8_t* data, size_t len) override;
  bool on_message_end() override;
  bool on_control(uint8_t opcode, const uint8_t* payload, size_t len) override;

  void connected();
  void read_all(uint32_t events);
  void end_of_input();
  void handle_input(const uint8_t* data, size_t len);
  void handshake_input(const uint8_t* data, size_t len);
  void frame_input(const uint8_t* data, size_t len);
  void send_frame(Opcode opcode, bool rsv1, const uint8_t* payload, size_t len);
  void want_flush();
  void finish(bool clean, const std::string& why);

  // TLS (tls_ctx_ set): the session starts once TCP is connected; ciphertext read from the socket
  // goes to tls_input, and flush encrypts the output queue (tls_flush).
  bool tls_start();
  bool tls_handshake_step();
  void tls_established();
  void tls_input(const uint8_t* data, size_t len);
  void tls_flush();
  bool tls_encrypt();
  bool tls_write_out();

  Loop& loop_;
  const Endpoint& endpoint_;
  ConnHandler& handler_;
  uint32_t id_;
  bool offer_deflate_;
  int fd_ = -1;
  State state_ = State::Idle;
  bool flush_queued_ = false;
  bool close_sent_ = false;
  bool close_received_ = false;
  bool message_compressed_ = false;
  uint8_t mask_key_[4];
  int64_t started_ns_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0, compressed_in_ = 0;

  std::string key_;   // our Sec-WebSocket-Key while the handshake runs
  std::string head_;  // the response head collected so far
  FrameParser parser_;
  OutQueue out_;
  std::unique_ptr<DeflateCodec> codec_;
  std::vector<uint8_t> scratch_;        // inflated bytes of the incoming message, piece by piece
  std::vector<uint8_t> compress_buf_;   // the outgoing message being compressed
  TlsContext* tls_ctx_;
  std::unique_ptr<TlsSession> tls_;     // set from the TCP connect until the connection ends
  StreamMux* mux_ = nullptr;            // --http2 / --http3: the connection this WebSocket is a stream of
  int64_t h2_stream_ = 0;  // HTTP/2 ids start at 1; HTTP/3's at 0, so they are stored + 1 there
};

}  // namespace sockudo::loadgen
