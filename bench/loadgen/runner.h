// What every scenario shares: the loop, the endpoint, the connections, opening them with a cap on
// pending handshakes, closing them, counting and logging errors, and the stall watchdog that
// turns "nothing happens" into a clear fatal error instead of a hang.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "conn.h"
#include "h2_mux.h"
#include "h3_mux.h"
#include "endpoint.h"
#include "histogram.h"
#include "json.h"
#include "loop.h"
#include "options.h"
#include "tls.h"

namespace sockudo::loadgen {

// The run cannot go on (stall, connections that never opened): exit status 3.
struct Fatal : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Run {
 public:
  Run(const Options& options, const Endpoint& endpoint);

  // Creates `n` idle connections sharing one handler; returns the index of the first.
  size_t create(size_t n, ConnHandler& handler);
  // Starts every idle connection, at most --concurrency handshakes pending at once, and runs the
  // loop until each one is open or has failed (--handshake-timeout each). With `require_all`, a
  // failure is fatal. Returns the seconds it took.
  double open_all(bool require_all);
  // Starts the closing handshake on every open connection and waits up to `timeout_s` for the
  // server to end them; whatever is left is aborted.
  void close_all(double timeout_s);
  // Connections whose handshake completed and that have not ended (O(1), from the loop stats).
  size_t open_count() const;

  // Counts an error; the first few are printed with their reason.
  void error(const std::string& what);
  uint64_t errors() const { return errors_; }
  void log(const char* fmt, ...) const __attribute__((format(printf, 2, 3)));

  // Totals over every connection: wire bytes, compressed messages received, deflate sessions,
  // and with --tls the TLS handshakes (how many, how many resumed, protocol, cipher, group).
  void add_transport_fields(JsonObject& out) const;

  const Options& opt;
  const Endpoint& endpoint;
  Loop loop;
  std::unique_ptr<TlsContext> tls;  // with --tls, made by the first create()
  std::vector<std::unique_ptr<StreamMux>> muxes;  // with --http2 / --http3 (outlive the conns, which use them)
  std::vector<std::unique_ptr<Conn>> conns;

 private:
  uint64_t errors_ = 0;
};

// Base for scenario handlers: failed handshakes and connections lost mid-run are errors, closes
// after the scenario set `stopping` are not.
class ScenarioHandler : public ConnHandler {
 public:
  explicit ScenarioHandler(Run& run) : run_(run) {}
  void on_closed(Conn& c, bool was_open, bool clean, const std::string& why) override;
  bool stopping = false;

 protected:
  Run& run_;
};

// Fails the run when a progress counter stops moving for --stall-timeout seconds.
class Watchdog {
 public:
  explicit Watchdog(double limit_s);
  void check(uint64_t progress, const char* doing);
  // Like check, but returns false instead of throwing (for drains that end the run anyway).
  bool alive(uint64_t progress);

 private:
  int64_t limit_ns_;
  uint64_t last_ = UINT64_MAX;
  int64_t since_ = 0;
};

// Calls back once per second (progress lines on stderr).
class Ticker {
 public:
  explicit Ticker(int64_t start_ns) : next_(start_ns + 1'000'000'000) {}
  bool due(int64_t now) {
    if (now < next_) return false;
    next_ += 1'000'000'000;
    if (next_ <= now) next_ = now + 1'000'000'000;
    return true;
  }
  int64_t next() const { return next_; }

 private:
  int64_t next_;
};

// Payload patterns. Text: "Hello, World!" repeated (13 bytes = exactly that). Binary: every byte
// value. Compressible (--deflate): JSON-like records, as a realtime feed would send.
std::vector<uint8_t> make_payload(size_t size, bool binary, bool compressible);

// <prefix>_samples, <prefix>_p50_us, _p90_us, _p99_us, _p999_us, _max_us, _mean_us.
void add_latency_fields(JsonObject& out, const char* prefix, const Histogram& h);

// VmRSS of /proc/PID/status in bytes, or -1 when it cannot be read.
int64_t read_rss_bytes(int pid);

}  // namespace sockudo::loadgen
