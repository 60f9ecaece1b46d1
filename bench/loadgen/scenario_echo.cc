// Scenario "echo" (the uWebSockets load_test semantics): N connections each keep --pipeline
// messages in flight; every verified echo is answered with a new message. Throughput is counted
// over --seconds after --warmup; round-trip times come from a per-connection FIFO of send times
// (echoes return in order on a connection).
#include <algorithm>
#include <cstdio>

#include "clock.h"
#include "echo_check.h"
#include "frame_writer.h"
#include "histogram.h"
#include "scenarios.h"

namespace sockudo::loadgen {
namespace {

class EchoHandler final : public ScenarioHandler {
 public:
  struct PerConn {
    PreparedMessage msg;
    std::vector<int64_t> sent_at;  // ring of send times, capacity = pipeline
    size_t head = 0, in_flight = 0;
    uint32_t owed = 0;  // echoes received in this read, each to be answered
    EchoCheck check;
  };

  EchoHandler(Run& run, Opcode opcode, std::vector<uint8_t> payload)
      : ScenarioHandler(run), opcode_(opcode), payload_(std::move(payload)) {}

  void setup(size_t conns, size_t pipeline) {
    per_.resize(conns);
    for (auto& p : per_) p.sent_at.resize(pipeline);
  }

  // Frames the message for every connection (its own mask key, its own deflate state). One read
  // answers at most `pipeline` echoes, so a block of that many frames covers any batch.
  void prepare_all(size_t pipeline) {
    const size_t block = std::min<size_t>(pipeline, 1024) * (payload_.size() + kMaxClientHeader);
    for (auto& c : run_.conns) per_[c->id()].msg = c->prepare(opcode_, payload_, block);
  }

  void send(Conn& c, uint32_t n, int64_t now) {
    PerConn& p = per_[c.id()];
    const size_t cap = p.sent_at.size();
    for (uint32_t i = 0; i < n; ++i) p.sent_at[(p.head + p.in_flight + i) % cap] = now;
    p.in_flight += n;
    c.send_prepared(p.msg, n);
  }

  void on_message_begin(Conn& c, Opcode op) override { per_[c.id()].check.begin(op, opcode_); }
  void on_message_data(Conn& c, const uint8_t* d, size_t n) override { per_[c.id()].check.data(payload_, d, n); }

  void on_message_end(Conn& c) override {
    PerConn& p = per_[c.id()];
    ++received;
    if (p.in_flight == 0) {
      run_.error("connection " + std::to_string(c.id()) + ": a message arrived that was never sent");
      return;
    }
    const int64_t sent = p.sent_at[p.head];
    p.head = (p.head + 1) % p.sent_at.size();
    --p.in_flight;
    if (running) ++p.owed;
    const std::string wrong = p.check.end(payload_);
    if (!wrong.empty()) {
      run_.error("connection " + std::to_string(c.id()) + ": " + wrong);
      return;
    }
    if (measuring) {
      ++messages;
      rtt.record(now_ns() - sent);
    }
  }

  void on_read_done(Conn& c) override {
    PerConn& p = per_[c.id()];
    if (p.owed == 0) return;
    const uint32_t n = p.owed;
    p.owed = 0;
    send(c, n, now_ns());
  }

  bool running = false, measuring = false;
  uint64_t received = 0, messages = 0;
  Histogram rtt;

 private:
  Opcode opcode_;
  std::vector<uint8_t> payload_;
  std::vector<PerConn> per_;
};

}  // namespace

void run_echo(Run& run, JsonObject& out) {
  const Options& o = run.opt;
  const Opcode opcode = o.binary ? kBinary : kText;
  EchoHandler h(run, opcode, make_payload(static_cast<size_t>(o.size), o.binary, o.deflate));
  run.create(static_cast<size_t>(o.connections), h);
  h.setup(run.conns.size(), static_cast<size_t>(o.pipeline));
  const double open_s = run.open_all(true);
  run.log("%d connections open in %.2f s; pipeline %d, %d-byte %s messages%s", o.connections, open_s,
          o.pipeline, o.size, o.binary ? "binary" : "text", o.deflate ? ", deflate offered" : "");
  h.prepare_all(static_cast<size_t>(o.pipeline));

  const int64_t t0 = now_ns();
  h.running = true;
  for (auto& c : run.conns) h.send(*c, static_cast<uint32_t>(o.pipeline), t0);
  const int64_t warm_end = t0 + static_cast<int64_t>(o.warmup * 1e9);
  const int64_t end = warm_end + static_cast<int64_t>(o.seconds * 1e9);
  int64_t measure_start = warm_end;
  Watchdog watchdog(o.stall_timeout);
  Ticker ticker(t0);
  uint64_t last_messages = 0;
  for (int64_t now = t0; now < end; now = now_ns()) {
    if (!h.measuring && now >= warm_end) {
      h.measuring = true;
      h.messages = 0;
      h.rtt.reset();
      measure_start = now;
    }
    if (ticker.due(now)) {
      run.log("%s %.0f msg/s, %llu errors", h.measuring ? "measuring" : "warming up",
              static_cast<double>(h.received - last_messages),
              static_cast<unsigned long long>(run.errors()));
      last_messages = h.received;
    }
    watchdog.check(h.received, "waiting for echoes");
    if (run.open_count() == 0) throw Fatal("every connection has ended");
    run.loop.run_once(std::min(end, ticker.next()));
  }
  const double seconds = static_cast<double>(now_ns() - measure_start) / 1e9;
  h.running = h.measuring = false;
  h.stopping = true;
  const double rate = static_cast<double>(h.messages) / seconds;
  run.log("%llu messages in %.2f s: %.0f msg/s", static_cast<unsigned long long>(h.messages), seconds, rate);
  run.close_all(2);

  out.add("connections", o.connections).add("pipeline", o.pipeline).add("size", o.size).add("binary", o.binary);
  out.add("messages", h.messages).add("seconds", seconds).add("rate", rate);
  out.add("payload_bytes_per_sec", rate * o.size);
  add_latency_fields(out, "rtt", h.rtt);
}

}  // namespace sockudo::loadgen
