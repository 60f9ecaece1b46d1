// Scenario "broadcast": --subscribers connections plus one publisher. The publisher sends text
// messages "B" + 16 lowercase hex digits (CLOCK_MONOTONIC ns at send) + padding to --size bytes;
// the server relays every text message starting with "B" to all its clients (the publisher too;
// its copy is checked, not counted). Closed loop by default: the next message goes out when the
// previous one reached every subscriber. With --rate R, publishes follow a fixed schedule.
// Latency = delivery time - timestamp in the message, per (message, subscriber).
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "clock.h"
#include "histogram.h"
#include "scenarios.h"

namespace sockudo::loadgen {
namespace {

constexpr size_t kHead = 17;  // "B" + 16 hex digits

inline uint8_t pad_byte(size_t i) { return static_cast<uint8_t>('a' + i % 26); }

class BroadcastHandler final : public ScenarioHandler {
 public:
  BroadcastHandler(Run& run, size_t size, size_t subscribers)
      : ScenarioHandler(run), size_(size), subscribers_(subscribers) {}

  struct PerConn {
    char head[kHead];
    size_t offset = 0;
    bool bad = false;
  };
  void setup(size_t conns) { per_.resize(conns); }

  // From here on, publishes (and their deliveries) with a timestamp >= measure_start count.
  void start_measuring(int64_t now) {
    measure_start = std::max(now, last_ts_ + 1);
    measuring = true;
  }

  void publish(Conn& publisher) {
    int64_t ts = now_ns();
    if (ts <= last_ts_) ts = last_ts_ + 1;  // every message's timestamp is unique
    last_ts_ = ts;
    current_ts = ts;
    current_delivered = 0;
    if (measuring) ++measured_publishes;  // ts >= measure_start (see start_measuring)
    ++publishes;
    std::snprintf(reinterpret_cast<char*>(buf_.data()), kHead + 1, "B%016llx", static_cast<unsigned long long>(ts));
    for (size_t i = kHead; i < size_; ++i) buf_[i] = pad_byte(i);
    publisher.send(kText, buf_.data(), size_);
  }

  void on_message_begin(Conn& c, Opcode op) override {
    PerConn& p = per_[c.id()];
    p.offset = 0;
    p.bad = op != kText;
  }
  void on_message_data(Conn& c, const uint8_t* d, size_t n) override {
    PerConn& p = per_[c.id()];
    for (size_t i = 0; i < n && !p.bad; ++i) {
      const size_t at = p.offset + i;
      if (at < kHead) {
        p.head[at] = static_cast<char>(d[i]);
      } else if (at >= size_ || d[i] != pad_byte(at)) {
        p.bad = true;
      }
    }
    p.offset += n;
  }
  void on_message_end(Conn& c) override {
    const int64_t now = now_ns();
    PerConn& p = per_[c.id()];
    int64_t ts = 0;
    if (p.bad || p.offset != size_ || p.head[0] != 'B' || !parse_ts(p.head + 1, ts)) {
      run_.error("connection " + std::to_string(c.id()) + ": malformed broadcast message (" +
                 std::to_string(p.offset) + " bytes)");
      return;
    }
    if (c.id() == 0) {  // the publisher's own copy
      ++publisher_copies;
      return;
    }
    ++deliveries;
    if (measuring && ts >= measure_start) {
      ++measured_deliveries;
      latency.record(now - ts);
    }
    if (ts == current_ts && ++current_delivered == subscribers_ && closed_loop && running) {
      publish(*run_.conns[0]);
    }
  }

  bool running = false, measuring = false, closed_loop = true;
  int64_t measure_start = 0, current_ts = 0;
  uint64_t current_delivered = 0, publishes = 0, measured_publishes = 0;
  uint64_t deliveries = 0, measured_deliveries = 0, publisher_copies = 0;
  Histogram latency;

 private:
  static bool parse_ts(const char* hex, int64_t& out) {
    uint64_t v = 0;
    for (int i = 0; i < 16; ++i) {
      const char ch = hex[i];
      const int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
      if (d < 0) return false;
      v = (v << 4) | static_cast<uint64_t>(d);
    }
    out = static_cast<int64_t>(v);
    return true;
  }

  size_t size_, subscribers_;
  std::vector<PerConn> per_;
  std::vector<uint8_t> buf_ = std::vector<uint8_t>(size_ + 1);
  int64_t last_ts_ = 0;
};

}  // namespace

void run_broadcast(Run& run, JsonObject& out) {
  const Options& o = run.opt;
  const size_t subs = static_cast<size_t>(o.subscribers);
  BroadcastHandler h(run, static_cast<size_t>(o.size), subs);
  run.create(1 + subs, h);  // conns[0] publishes
  h.setup(run.conns.size());
  const double open_s = run.open_all(true);
  run.log("%zu subscribers + 1 publisher open in %.2f s; %s", subs, open_s,
          o.rate > 0 ? "open loop" : "closed loop");
  Conn& publisher = *run.conns[0];

  h.closed_loop = o.rate <= 0;
  h.running = true;
  const int64_t t0 = now_ns();
  const int64_t warm_end = t0 + static_cast<int64_t>(o.warmup * 1e9);
  const int64_t end = warm_end + static_cast<int64_t>(o.seconds * 1e9);
  uint64_t scheduled = 0;  // open loop: publishes so far; the k-th is due at t0 + k / rate
  auto due = [&](uint64_t k) { return t0 + static_cast<int64_t>(static_cast<double>(k) * 1e9 / o.rate); };
  if (h.closed_loop) h.publish(publisher);
  Watchdog watchdog(o.stall_timeout);
  Ticker ticker(t0);
  uint64_t last = 0;
  for (int64_t now = t0; now < end; now = now_ns()) {
    if (!h.measuring && now >= warm_end) h.start_measuring(now);
    if (!h.closed_loop) {
      while (due(scheduled) <= now) {
        h.publish(publisher);
        ++scheduled;
      }
    }
    if (ticker.due(now)) {
      run.log("%s %.0f deliveries/s, %llu errors", h.measuring ? "measuring" : "warming up",
              static_cast<double>(h.deliveries - last), static_cast<unsigned long long>(run.errors()));
      last = h.deliveries;
    }
    watchdog.check(h.deliveries + h.publisher_copies, "waiting for broadcast deliveries");
    if (!publisher.is_open()) throw Fatal("the publisher connection ended");
    int64_t wake = std::min(end, ticker.next());
    if (!h.closed_loop) wake = std::min(wake, due(scheduled));
    run.loop.run_once(wake);
  }
  h.running = false;
  // Drain: every measured publish must reach every subscriber.
  const uint64_t expected = h.measured_publishes * subs;
  Watchdog drain(o.stall_timeout);
  while (h.measured_deliveries < expected && drain.alive(h.deliveries)) run.loop.run_once(now_ns() + 100 * kNsPerMs);
  if (h.measured_deliveries < expected) {
    run.error(std::to_string(expected - h.measured_deliveries) + " of " + std::to_string(expected) +
              " deliveries never arrived");
  } else if (h.measured_deliveries > expected) {
    run.error(std::to_string(h.measured_deliveries - expected) + " deliveries more than were published");
  }
  // Up to the last delivery: deliveries of publishes from the window's end are counted too.
  const double seconds = static_cast<double>(now_ns() - h.measure_start) / 1e9;
  h.stopping = true;
  const uint64_t publishes = h.measured_publishes, deliveries = h.measured_deliveries;
  h.measuring = false;  // the numbers are final; nothing arriving while closing changes them
  const double rate = static_cast<double>(deliveries) / seconds;
  run.log("%llu publishes, %llu deliveries in %.2f s: %.0f deliveries/s",
          static_cast<unsigned long long>(h.measured_publishes),
          static_cast<unsigned long long>(h.measured_deliveries), seconds, rate);
  run.close_all(2);

  out.add("subscribers", o.subscribers).add("size", o.size).add("rate", o.rate);
  out.add("publishes", publishes).add("deliveries", deliveries);
  out.add("expected_deliveries", expected).add("seconds", seconds);
  out.add("deliveries_per_sec", rate).add("publishes_per_sec", static_cast<double>(publishes) / seconds);
  add_latency_fields(out, "latency", h.latency);
}

}  // namespace sockudo::loadgen
