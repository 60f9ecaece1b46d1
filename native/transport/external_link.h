// A link whose bytes cross into JavaScript: a Duplex (a TLSSocket from Node's https server, a
// socket a proxy hands over, a test's stream). JS feeds input with Endpoint::receive_external;
// output goes to the socket handler (on_external_write), which writes it to the Duplex in one
// call per flush. The Duplex buffers whatever it is given; when it asks writers to wait for
// 'drain' the link reports `blocked`, and the session holds further output natively (the same
// maxBackpressure policy as a kernel socket) until external_drained().
#pragma once

#include "transport/link.h"
#include "transport/socket_handler.h"

namespace sockudo::transport {

class ExternalLink final : public Link {
 public:
  // A Duplex's output crosses into JS: batch more of it per crossing.
  static constexpr size_t kFlushThreshold = 64 * 1024;

  // `http2_stream`: the Duplex is a stream of Node's http2 server (handleStream): the handshake's
  // answer goes to JS as header fields (on_external_answer), which responds on the stream.
  explicit ExternalLink(bool http2_stream = false) : http2_stream_(http2_stream) {}
  int http_version() const override { return http2_stream_ ? 2 : 1; }
  bool frames_answer() const override { return http2_stream_; }
  bool answer(std::span<const handshake::OwnedField> fields, std::string_view body, bool end) override;

  void set_events(LinkEvents* events) override { events_ = events; }
  // Who writes to (and pauses, ends) the Duplex; null until the connection has a handler.
  void set_handler(SocketHandler* handler);
  LinkWrite write(std::span<const io::Slice> slices) override;
  void set_wants(bool read, bool write) override;
  bool shutdown_write() override { return false; }
  void close(void (*done)(void*), void* arg) override;
  size_t buffered() const override { return buffered_; }
  bool external() const override { return true; }
  const char* transport_name() const override { return "duplex"; }
  size_t flush_threshold() const override { return kFlushThreshold; }
  // The Duplex emitted 'drain' after a write that asked us to wait.
  void drained();

 private:
  LinkEvents* events_ = nullptr;
  SocketHandler* handler_ = nullptr;
  bool http2_stream_ = false;
  bool closed_ = false;
  bool reading_ = true;    // what on_external_flow last reported
  bool want_read_ = true;
  size_t buffered_ = 0;    // bytes the Duplex held at our last write to it
  bool blocked_ = false;
};

}  // namespace sockudo::transport
