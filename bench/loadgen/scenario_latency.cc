// Scenario "latency": a fixed, open-loop send rate (--rate msgs/s) spread round-robin over
// --connections echo connections. The k-th message is due at t0 + k/rate whatever happened
// before (a timerfd wakes the loop for it), and its latency runs from that scheduled time to the
// verified echo — so a stalled server shows up as latency, not as fewer samples (no coordinated
// omission). Messages scheduled in --warmup are sent but not recorded.
#include <algorithm>
#include <cstdio>
#include <deque>

#include "clock.h"
#include "echo_check.h"
#include "histogram.h"
#include "scenarios.h"

namespace sockudo::loadgen {
namespace {

class LatencyHandler final : public ScenarioHandler {
 public:
  LatencyHandler(Run& run, Opcode opcode, std::vector<uint8_t> payload)
      : ScenarioHandler(run), opcode_(opcode), payload_(std::move(payload)) {}

  struct PerConn {
    PreparedMessage msg;
    std::deque<int64_t> due;  // scheduled send times of the messages in flight, in order
    EchoCheck check;
  };
  void setup() {
    per_.resize(run_.conns.size());
    for (auto& c : run_.conns) per_[c->id()].msg = c->prepare(opcode_, payload_, 0);  // one frame
  }

  void send(Conn& c, int64_t due) {
    PerConn& p = per_[c.id()];
    p.due.push_back(due);
    c.send_prepared(p.msg, 1);
    ++sent;
    if (due >= measure_start) ++measured_sent;
  }

  void on_message_begin(Conn& c, Opcode op) override { per_[c.id()].check.begin(op, opcode_); }
  void on_message_data(Conn& c, const uint8_t* d, size_t n) override { per_[c.id()].check.data(payload_, d, n); }
  void on_message_end(Conn& c) override {
    const int64_t now = now_ns();
    PerConn& p = per_[c.id()];
    ++received;
    if (p.due.empty()) {
      run_.error("connection " + std::to_string(c.id()) + ": a message arrived that was never sent");
      return;
    }
    const int64_t due = p.due.front();
    p.due.pop_front();
    const std::string wrong = p.check.end(payload_);
    if (!wrong.empty()) {
      run_.error("connection " + std::to_string(c.id()) + ": " + wrong);
      return;
    }
    if (due >= measure_start) {
      ++measured_received;
      latency.record(now - due);
    }
  }

  int64_t measure_start = INT64_MAX;
  uint64_t sent = 0, received = 0, measured_sent = 0, measured_received = 0;
  Histogram latency;

 private:
  Opcode opcode_;
  std::vector<uint8_t> payload_;
  std::vector<PerConn> per_;
};

}  // namespace

void run_latency(Run& run, JsonObject& out) {
  const Options& o = run.opt;
  const Opcode opcode = o.binary ? kBinary : kText;
  LatencyHandler h(run, opcode, make_payload(static_cast<size_t>(o.size), o.binary, o.deflate));
  run.create(static_cast<size_t>(o.connections), h);
  const double open_s = run.open_all(true);
  run.log("%d connections open in %.2f s; %.0f msgs/s of %d bytes", o.connections, open_s, o.rate, o.size);
  h.setup();

  const int64_t t0 = now_ns();
  const int64_t warm_end = t0 + static_cast<int64_t>(o.warmup * 1e9);
  const int64_t end = warm_end + static_cast<int64_t>(o.seconds * 1e9);
  h.measure_start = warm_end;
  auto due = [&](uint64_t k) { return t0 + static_cast<int64_t>(static_cast<double>(k) * 1e9 / o.rate); };
  uint64_t k = 0;
  const size_t nconns = run.conns.size();
  Watchdog watchdog(o.stall_timeout);
  Ticker ticker(t0);
  bool warned_behind = false;
  uint64_t last = 0, quiet = 0;
  for (int64_t now = t0; now < end; now = now_ns()) {
    for (int64_t d = due(k); d <= now && d < end; d = due(k)) {
      Conn& c = *run.conns[k % nconns];
      if (c.is_open()) h.send(c, d);
      ++k;
    }
    if (!warned_behind && now - due(k) > kNsPerSec) {
      warned_behind = true;
      run.log("warning: more than 1 s behind schedule; the generator cannot send at --rate %.0f", o.rate);
    }
    if (ticker.due(now)) {
      run.log("%s %.0f echoes/s, %llu in flight", now >= warm_end ? "measuring" : "warming up",
              static_cast<double>(h.received - last), static_cast<unsigned long long>(h.sent - h.received));
      last = h.received;
    }
    // Progress: echoes arriving; with nothing in flight there is nothing to wait for.
    if (h.sent == h.received) ++quiet;
    watchdog.check(h.received + quiet, "waiting for echoes");
    if (run.open_count() == 0) throw Fatal("every connection has ended");
    run.loop.run_once(std::min({end, ticker.next(), due(k)}));
  }
  // Drain the echoes still in flight.
  Watchdog drain(o.stall_timeout);
  while (h.received < h.sent && drain.alive(h.received)) run.loop.run_once(now_ns() + 100 * kNsPerMs);
  if (h.received < h.sent) {
    run.error(std::to_string(h.sent - h.received) + " of " + std::to_string(h.sent) + " echoes never arrived");
  }
  h.stopping = true;
  const double seconds = o.seconds;
  run.log("%llu echoes measured; p50 %.1f us, p99 %.1f us, p99.9 %.1f us",
          static_cast<unsigned long long>(h.measured_received), static_cast<double>(h.latency.percentile(50)) / 1e3,
          static_cast<double>(h.latency.percentile(99)) / 1e3, static_cast<double>(h.latency.percentile(99.9)) / 1e3);
  run.close_all(2);

  out.add("connections", o.connections).add("rate", o.rate).add("size", o.size).add("binary", o.binary);
  out.add("sent", h.measured_sent).add("received", h.measured_received).add("seconds", seconds);
  out.add("achieved_rate", static_cast<double>(h.measured_received) / seconds);
  add_latency_fields(out, "latency", h.latency);
}

}  // namespace sockudo::loadgen
