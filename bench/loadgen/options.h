// Command-line options: parsed, checked against the scenario they apply to, defaults filled in.
// A usage error throws UsageError (exit status 2, nothing run).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace sockudo::loadgen {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Options {
  std::string scenario;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string path = "/";
  int connections = 0;        // echo 100, latency 10, connections 10000
  int pipeline = 1;           // echo: messages in flight per connection
  int size = 0;               // payload bytes: echo/latency 13, broadcast 64
  bool binary = false;        // echo/latency: binary instead of text messages
  double warmup = 1;          // seconds before measuring (echo, latency, broadcast)
  double seconds = 5;         // measured seconds (echo, latency, broadcast)
  uint64_t count = 100000;    // pipelined: messages per phase
  int subscribers = 100;      // broadcast
  double rate = 0;            // latency: msgs/s (default 1000); broadcast: 0 = closed loop
  double hold = 5;            // connections: idle seconds
  int pid = 0;                // connections: server process whose VmRSS is reported
  int concurrency = 200;      // pending handshakes at most
  int cpu = -1;               // pin to this core
  std::string json_out;       // also write the result JSON here
  bool deflate = false;       // offer permessage-deflate
  bool tls = false;           // wss://: TLS client handshake after the TCP connect
  bool tls_resume = false;    // offer the run's first TLS session on later connections
  bool http2 = false;         // WebSockets as extended CONNECT streams of cleartext HTTP/2 connections (RFC 8441)
  bool http3 = false;         // WebSockets as extended CONNECT streams of QUIC connections (RFC 9220)
  uint32_t streams = 100;     // --http2 / --http3: WebSockets per connection
  std::string tls_groups = "X25519:P-256";  // key exchange groups offered (the first gets a key share)
  double stall_timeout = 10;  // seconds without progress before giving up
  double handshake_timeout = 10;
};

Options parse_options(int argc, char** argv);
const char* usage_text();

}  // namespace sockudo::loadgen
