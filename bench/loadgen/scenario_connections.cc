// Scenario "connections": open --connections connections (at most --concurrency handshakes
// pending), report the handshake rate, then hold them idle for --hold seconds. When all are open
// a line {"phase":"idle",...} goes to stdout at once, so a driver can sample the server's memory
// during the hold; with --pid the generator samples VmRSS itself (before connecting and at the
// end of the hold). Then every connection is closed and the result line ({"phase":"done"}) follows.
#include <algorithm>
#include <cstdio>

#include "clock.h"
#include "scenarios.h"

namespace sockudo::loadgen {

void run_connections(Run& run, JsonObject& out) {
  const Options& o = run.opt;
  ScenarioHandler h(run);
  const int64_t rss_baseline = o.pid ? read_rss_bytes(o.pid) : -1;
  if (o.pid && rss_baseline < 0) throw Fatal("cannot read /proc/" + std::to_string(o.pid) + "/status");
  run.create(static_cast<size_t>(o.connections), h);
  const double open_s = run.open_all(false);
  const uint64_t opened = run.loop.stats.opened, failed = run.loop.stats.failed_open;
  const double rate = static_cast<double>(opened) / open_s;
  run.log("%llu of %d connections open in %.2f s (%.0f handshakes/s), %llu failed",
          static_cast<unsigned long long>(opened), o.connections, open_s, rate,
          static_cast<unsigned long long>(failed));

  JsonObject idle;
  idle.add("scenario", "connections").add("phase", "idle").add("connections", static_cast<uint64_t>(run.open_count()));
  if (o.pid) idle.add("rss_bytes", read_rss_bytes(o.pid));
  std::printf("%s\n", idle.str().c_str());
  std::fflush(stdout);

  const int64_t hold_end = now_ns() + static_cast<int64_t>(o.hold * 1e9);
  Ticker ticker(now_ns());
  for (int64_t now = now_ns(); now < hold_end; now = now_ns()) {  // pings are answered meanwhile
    if (ticker.due(now)) run.log("holding: %zu open", run.open_count());
    run.loop.run_once(std::min(hold_end, ticker.next()));
  }
  const size_t still_open = run.open_count();
  const int64_t rss_idle = o.pid ? read_rss_bytes(o.pid) : -1;
  if (still_open < opened) run.log("%zu connections ended during the hold", static_cast<size_t>(opened - still_open));
  h.stopping = true;
  run.close_all(5);

  out.add("phase", "done").add("connections", o.connections).add("opened", opened).add("failed", failed);
  out.add("connect_seconds", open_s).add("handshakes_per_sec", rate);
  add_latency_fields(out, "handshake", run.loop.stats.handshake_ns);
  if (run.tls) add_latency_fields(out, "tls_handshake", run.tls->handshake_ns);
  out.add("hold_seconds", o.hold).add("open_after_hold", static_cast<uint64_t>(still_open));
  if (o.pid) {
    out.add("pid", o.pid).add("rss_baseline_bytes", rss_baseline).add("rss_idle_bytes", rss_idle);
    out.add("rss_per_connection_bytes",
            opened ? static_cast<double>(rss_idle - rss_baseline) / static_cast<double>(opened) : 0.0);
  }
}

}  // namespace sockudo::loadgen
