// What a Conn in stream mode talks to: the connection its WebSocket is a stream of — HTTP/2
// (h2_mux.h, --http2) or HTTP/3 over QUIC (h3_mux.h, --http3).
#pragma once

namespace sockudo::loadgen {

class Conn;

class StreamMux {
 public:
  virtual ~StreamMux() = default;
  // A Conn starts its WebSocket: the CONNECT goes out once the connection is up (the first call
  // connects). Failures reach the Conn (h2_failed).
  virtual void open(Conn* conn) = 0;
  // The Conn has output (its queue) or wants to end its stream after it.
  virtual void resume(Conn* conn) = 0;
  // The Conn is done with its stream (reset it unless it ended cleanly).
  virtual void detach(Conn* conn) = 0;
};

}  // namespace sockudo::loadgen
