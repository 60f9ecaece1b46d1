// Shared scenario machinery (see runner.h).
#include "runner.h"

#include <cstdarg>
#include <cstdio>
#include <fstream>
#include <string_view>

#include "clock.h"

namespace sockudo::loadgen {
namespace {
constexpr uint64_t kLoggedErrors = 10;
}

Run::Run(const Options& options, const Endpoint& ep) : opt(options), endpoint(ep) {}

size_t Run::create(size_t n, ConnHandler& handler) {
  // The SSL_CTX is made here rather than in the constructor so that its failure is fatal (exit 3).
  if (opt.tls && !tls) {
    tls = std::make_unique<TlsContext>(opt.tls_groups, opt.tls_resume, opt.scenario == "connections");
    if (opt.http2) tls->offer_h2();
  }
  const size_t first = conns.size();
  conns.reserve(first + n);
  for (size_t i = 0; i < n; ++i) {
    StreamMux* mux = nullptr;
    if (opt.http2 || opt.http3) {  // --streams WebSockets per HTTP/2 or HTTP/3 connection
      if ((first + i) % opt.streams == 0) {
        if (opt.http3) muxes.push_back(std::make_unique<H3Mux>(loop, endpoint));
        else muxes.push_back(std::make_unique<H2Mux>(loop, endpoint, tls.get()));
      }
      mux = muxes.back().get();
    }
    conns.push_back(std::make_unique<Conn>(loop, endpoint, handler, static_cast<uint32_t>(first + i), opt.deflate,
                                           opt.http3 ? nullptr : tls.get(), mux));
  }
  return first;
}

double Run::open_all(bool require_all) {
  const int64_t t0 = now_ns();
  const int64_t handshake_limit = static_cast<int64_t>(opt.handshake_timeout * 1e9);
  std::vector<size_t> idle;
  for (size_t i = 0; i < conns.size(); ++i) {
    if (conns[i]->state() == Conn::State::Idle) idle.push_back(i);
  }
  const uint64_t opened_before = loop.stats.opened, failed_before = loop.stats.failed_open;
  size_t started = 0, scan_from = 0;
  Watchdog watchdog(opt.stall_timeout);
  Ticker ticker(t0);
  int64_t next_scan = t0 + 50 * kNsPerMs;
  for (;;) {
    const size_t done = loop.stats.opened - opened_before + loop.stats.failed_open - failed_before;
    // --tls-resume: one connection first, so that the others can offer the session it brings
    // (TLS 1.3 tickets arrive after the handshake, before the 101); then the usual window.
    const size_t window = tls && tls->resume() && !tls->has_session() && loop.stats.opened + loop.stats.failed_open == 0
                              ? 1 : static_cast<size_t>(opt.concurrency);
    while (started < idle.size() && started - done < window) {
      conns[idle[started++]]->start();
    }
    if (done >= idle.size()) break;
    const int64_t now = now_ns();
    if (now >= next_scan) {  // handshake timeouts, checked every 50 ms over the pending window
      next_scan = now + 50 * kNsPerMs;
      auto pending = [&](size_t k) {
        const Conn::State s = conns[idle[k]]->state();
        return s == Conn::State::Connecting || s == Conn::State::Handshaking;
      };
      while (scan_from < started && !pending(scan_from)) ++scan_from;
      for (size_t k = scan_from; k < started; ++k) {
        if (pending(k) && now - conns[idle[k]]->started_ns() > handshake_limit) {
          conns[idle[k]]->abort("handshake timed out");
        }
      }
    }
    if (ticker.due(now)) {
      log("opening: %llu open, %llu failed of %zu",
          static_cast<unsigned long long>(loop.stats.opened - opened_before),
          static_cast<unsigned long long>(loop.stats.failed_open - failed_before), idle.size());
    }
    watchdog.check(done, "opening connections");
    loop.run_once(next_scan);
  }
  const double secs = static_cast<double>(now_ns() - t0) / 1e9;
  const uint64_t failed = loop.stats.failed_open - failed_before;
  if (require_all && failed > 0) {
    throw Fatal(std::to_string(failed) + " of " + std::to_string(idle.size()) +
                " connections failed to open (see the reasons above)");
  }
  return secs;
}

size_t Run::open_count() const { return static_cast<size_t>(loop.stats.opened - loop.stats.closed); }

void Run::close_all(double timeout_s) {
  size_t live = 0;
  for (auto& c : conns) {
    const Conn::State s = c->state();
    if (s == Conn::State::Idle || s == Conn::State::Closed) continue;
    ++live;
    c->close(1000);  // connecting ones end at once (counted as finished below)
  }
  const int64_t deadline = now_ns() + static_cast<int64_t>(timeout_s * 1e9);
  auto remaining = [&] {
    size_t n = 0;
    for (auto& c : conns) n += c->state() == Conn::State::Closing || c->state() == Conn::State::Open;
    return n;
  };
  size_t left = remaining();
  while (left > 0 && now_ns() < deadline) {
    loop.run_once(deadline);
    left = remaining();
  }
  if (left > 0) log("closing: %zu of %zu connections did not finish the closing handshake in time", left, live);
  for (auto& c : conns) {
    if (c->state() != Conn::State::Closed && c->state() != Conn::State::Idle) c->abort("closed at the end of the run");
  }
}

void Run::error(const std::string& what) {
  if (errors_ < kLoggedErrors) log("error: %s", what.c_str());
  if (errors_ + 1 == kLoggedErrors) log("(further errors are counted, not printed)");
  ++errors_;
}

void Run::log(const char* fmt, ...) const {
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "[%s] %s\n", opt.scenario.c_str(), buf);
}

void Run::add_transport_fields(JsonObject& out) const {
  uint64_t in = 0, sent = 0, compressed = 0, deflate = 0;
  for (const auto& c : conns) {
    in += c->bytes_in();
    sent += c->bytes_out();
    compressed += c->compressed_in();
    deflate += c->deflate();
  }
  out.add("bytes_sent", sent).add("bytes_received", in);
  out.add("deflate_offered", opt.deflate).add("deflate_connections", deflate).add("compressed_messages_received", compressed);
  out.add("tls", opt.tls).add("http2", opt.http2).add("http3", opt.http3);
  if (opt.http2) out.add("http2_connections", static_cast<uint64_t>(muxes.size()));
  if (opt.http3) out.add("http3_connections", static_cast<uint64_t>(muxes.size()));
  if (opt.tls) {
    const uint64_t handshakes = tls ? tls->handshakes : 0;
    out.add("tls_resume_offered", opt.tls_resume).add("tls_handshakes", handshakes);
    out.add("tls_resumed", tls ? tls->resumed : uint64_t{0});
    out.add("tls_protocol", tls ? tls->protocol : std::string()).add("tls_cipher", tls ? tls->cipher : std::string());
    out.add("tls_group", tls ? tls->group : std::string());
  }
}

void ScenarioHandler::on_closed(Conn& c, bool was_open, bool clean, const std::string& why) {
  if (stopping) return;
  if (!was_open) {
    run_.error("connection " + std::to_string(c.id()) + " failed to open: " + why);
  } else {
    run_.error("connection " + std::to_string(c.id()) + " ended during the run: " + why);
  }
}

Watchdog::Watchdog(double limit_s) : limit_ns_(static_cast<int64_t>(limit_s * 1e9)) {}

bool Watchdog::alive(uint64_t progress) {
  const int64_t now = now_ns();
  if (progress != last_) {
    last_ = progress;
    since_ = now;
    return true;
  }
  return now - since_ < limit_ns_;
}

void Watchdog::check(uint64_t progress, const char* doing) {
  if (!alive(progress)) {
    char buf[256];
    std::snprintf(buf, sizeof buf, "no progress for %.1f s while %s: the server stalled or broke the contract",
                  static_cast<double>(limit_ns_) / 1e9, doing);
    throw Fatal(buf);
  }
}

std::vector<uint8_t> make_payload(size_t size, bool binary, bool compressible) {
  std::vector<uint8_t> p;
  p.reserve(size);
  if (compressible) {
    for (unsigned id = 0; p.size() < size; ++id) {
      char rec[160];
      const int n = std::snprintf(rec, sizeof rec,
                                  "{\"id\":%u,\"event\":\"price-update\",\"symbol\":\"SOCK\",\"bid\":%u.25,"
                                  "\"ask\":%u.27,\"tags\":[\"ws\",\"bench\"]}\n",
                                  id, 100 + id % 7, 100 + id % 7);
      p.insert(p.end(), rec, rec + n);
    }
    p.resize(size);
  } else if (binary) {
    for (size_t i = 0; i < size; ++i) p.push_back(static_cast<uint8_t>(i * 31 + 7));
  } else {
    constexpr std::string_view kHello = "Hello, World!";
    for (size_t i = 0; i < size; ++i) p.push_back(static_cast<uint8_t>(kHello[i % kHello.size()]));
  }
  return p;
}

void add_latency_fields(JsonObject& out, const char* prefix, const Histogram& h) {
  const std::string p(prefix);
  auto us = [](int64_t ns) { return static_cast<double>(ns) / 1e3; };
  out.add(p + "_samples", h.count());
  out.add(p + "_p50_us", us(h.percentile(50))).add(p + "_p90_us", us(h.percentile(90)));
  out.add(p + "_p99_us", us(h.percentile(99))).add(p + "_p999_us", us(h.percentile(99.9)));
  out.add(p + "_max_us", us(h.max())).add(p + "_mean_us", h.mean() / 1e3);
}

int64_t read_rss_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "VmRSS: N kB"
  }
  return -1;
}

}  // namespace sockudo::loadgen
