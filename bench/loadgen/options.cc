// Option table: each option names the scenarios it applies to, so a misplaced option (e.g.
// --pipeline for latency) is an error rather than silently ignored.
#include "options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string_view>
#include <vector>

namespace sockudo::loadgen {
namespace {

enum : unsigned {
  kEcho = 1,
  kPipelined = 2,
  kBroadcast = 4,
  kConnections = 8,
  kLatency = 16,
  kAll = 31,
};

unsigned scenario_bit(const std::string& name) {
  if (name == "echo") return kEcho;
  if (name == "pipelined") return kPipelined;
  if (name == "broadcast") return kBroadcast;
  if (name == "connections") return kConnections;
  if (name == "latency") return kLatency;
  return 0;
}

double parse_number(const std::string& name, const std::string& v, double lo, double hi) {
  errno = 0;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(d) || d < lo || d > hi) {
    throw UsageError("--" + name + ": expected a number in [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "], got '" + v + "'");
  }
  return d;
}

int parse_int(const std::string& name, const std::string& v, int lo, int hi) {
  const double d = parse_number(name, v, lo, hi);
  if (d != std::floor(d)) throw UsageError("--" + name + ": expected an integer, got '" + v + "'");
  return static_cast<int>(d);
}

struct Spec {
  const char* name;
  unsigned scenarios;
  bool takes_value;
  std::function<void(Options&, const std::string&)> apply;
};

std::vector<Spec> specs() {
  return {
      {"scenario", kAll, true, [](Options& o, const std::string& v) { o.scenario = v; }},
      {"host", kAll, true, [](Options& o, const std::string& v) { o.host = v; }},
      {"port", kAll, true, [](Options& o, const std::string& v) { o.port = parse_int("port", v, 1, 65535); }},
      {"path", kAll, true, [](Options& o, const std::string& v) { o.path = v; }},
      {"connections", kEcho | kConnections | kLatency, true,
       [](Options& o, const std::string& v) { o.connections = parse_int("connections", v, 1, 1'000'000); }},
      {"pipeline", kEcho, true, [](Options& o, const std::string& v) { o.pipeline = parse_int("pipeline", v, 1, 1'000'000); }},
      {"size", kEcho | kBroadcast | kLatency, true,
       [](Options& o, const std::string& v) { o.size = parse_int("size", v, 0, 64 << 20); }},
      {"binary", kEcho | kLatency, false, [](Options& o, const std::string&) { o.binary = true; }},
      {"warmup", kEcho | kBroadcast | kLatency, true,
       [](Options& o, const std::string& v) { o.warmup = parse_number("warmup", v, 0, 86400); }},
      {"seconds", kEcho | kBroadcast | kLatency, true,
       [](Options& o, const std::string& v) { o.seconds = parse_number("seconds", v, 0.001, 86400); }},
      {"count", kPipelined, true,
       [](Options& o, const std::string& v) { o.count = static_cast<uint64_t>(parse_int("count", v, 1, 100'000'000)); }},
      {"subscribers", kBroadcast, true,
       [](Options& o, const std::string& v) { o.subscribers = parse_int("subscribers", v, 1, 1'000'000); }},
      {"rate", kBroadcast | kLatency, true,
       [](Options& o, const std::string& v) { o.rate = parse_number("rate", v, 0.001, 1e8); }},
      {"hold", kConnections, true, [](Options& o, const std::string& v) { o.hold = parse_number("hold", v, 0, 86400); }},
      {"pid", kConnections, true, [](Options& o, const std::string& v) { o.pid = parse_int("pid", v, 1, 1 << 30); }},
      {"concurrency", kAll, true,
       [](Options& o, const std::string& v) { o.concurrency = parse_int("concurrency", v, 1, 1'000'000); }},
      {"cpu", kAll, true, [](Options& o, const std::string& v) { o.cpu = parse_int("cpu", v, 0, 4095); }},
      {"json-out", kAll, true, [](Options& o, const std::string& v) { o.json_out = v; }},
      {"deflate", kAll, false, [](Options& o, const std::string&) { o.deflate = true; }},
      {"tls", kAll, false, [](Options& o, const std::string&) { o.tls = true; }},
      {"tls-resume", kAll, false, [](Options& o, const std::string&) { o.tls_resume = true; }},
      {"http2", kAll, false, [](Options& o, const std::string&) { o.http2 = true; }},
      {"http3", kAll, false, [](Options& o, const std::string&) { o.http3 = true; }},
      {"streams", kAll, true,
       [](Options& o, const std::string& v) { o.streams = static_cast<uint32_t>(parse_number("streams", v, 1, 100000)); }},
      {"tls-groups", kAll, true, [](Options& o, const std::string& v) { o.tls_groups = v; }},
      {"stall-timeout", kAll, true,
       [](Options& o, const std::string& v) { o.stall_timeout = parse_number("stall-timeout", v, 0.1, 3600); }},
      {"handshake-timeout", kAll, true,
       [](Options& o, const std::string& v) { o.handshake_timeout = parse_number("handshake-timeout", v, 0.1, 3600); }},
  };
}

}  // namespace

const char* usage_text() {
  return "usage: sockudo-loadgen --scenario echo|pipelined|broadcast|connections|latency --port N [options]\n"
         "  common:      --host 127.0.0.1|::1|localhost  --path /  --cpu N  --json-out FILE  --deflate\n"
         "               --tls  --tls-resume  --tls-groups X25519:P-256 (these two need --tls)\n"
         "               --http2 --streams 100 (WebSockets as HTTP/2 streams; h2c, or h2 with --tls; not with --deflate)\n"
         "               --http3 --streams 100 (WebSockets as HTTP/3 streams over QUIC; not with --deflate)\n"
         "               --concurrency 200  --stall-timeout 10  --handshake-timeout 10\n"
         "  echo:        --connections 100 --pipeline 1 --size 13 --binary --warmup 1 --seconds 5\n"
         "  pipelined:   --count 100000\n"
         "  broadcast:   --subscribers 100 --size 64 --rate R (default: closed loop) --warmup 1 --seconds 5\n"
         "  connections: --connections 10000 --hold 5 --pid PID\n"
         "  latency:     --connections 10 --rate 1000 --size 13 --binary --warmup 1 --seconds 5\n"
         "See bench/loadgen/README.md for each scenario's semantics and JSON fields.\n";
}

Options parse_options(int argc, char** argv) {
  Options o;
  const std::vector<Spec> table = specs();
  std::vector<std::pair<const Spec*, std::string>> given;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") throw UsageError("");
    if (arg.rfind("--", 0) != 0) throw UsageError("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2), value;
    bool has_inline = false;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
      has_inline = true;
    }
    const Spec* spec = nullptr;
    for (const Spec& s : table) {
      if (name == s.name) spec = &s;
    }
    if (!spec) throw UsageError("unknown option --" + name);
    if (spec->takes_value && !has_inline) {
      if (i + 1 >= argc) throw UsageError("--" + name + " needs a value");
      value = argv[++i];
    } else if (!spec->takes_value && has_inline) {
      throw UsageError("--" + name + " takes no value");
    }
    given.emplace_back(spec, value);
  }
  for (auto& [spec, value] : given) spec->apply(o, value);
  const unsigned bit = scenario_bit(o.scenario);
  if (bit == 0) throw UsageError(o.scenario.empty() ? "--scenario is required" : "unknown scenario '" + o.scenario + "'");
  for (auto& [spec, value] : given) {
    if (!(spec->scenarios & bit)) {
      throw UsageError(std::string("--") + spec->name + " does not apply to scenario " + o.scenario);
    }
  }
  if (o.port == 0) throw UsageError("--port is required");

  auto was_given = [&](std::string_view n) {
    for (auto& g : given) {
      if (n == g.first->name) return true;
    }
    return false;
  };
  if (o.tls_resume && !o.tls) throw UsageError("--tls-resume needs --tls");
  if (!o.tls && was_given("tls-groups")) throw UsageError("--tls-groups needs --tls");
  if (o.http2 && (o.deflate || o.tls_resume)) throw UsageError("--http2 runs without permessage-deflate and TLS resumption: not with --deflate or --tls-resume");
  if (o.http3 && (o.deflate || o.tls_resume || o.http2)) throw UsageError("--http3 runs without permessage-deflate, TLS resumption and --http2");
  if (!o.http2 && !o.http3 && was_given("streams")) throw UsageError("--streams needs --http2 or --http3");
  if (!was_given("connections")) o.connections = bit == kConnections ? 10000 : bit == kLatency ? 10 : 100;
  if (!was_given("size")) o.size = bit == kBroadcast ? 64 : 13;
  if (bit == kLatency && !was_given("rate")) o.rate = 1000;
  if (bit == kBroadcast && o.size < 17) {
    throw UsageError("--size must be at least 17 for broadcast (\"B\" + 16 hex digits of timestamp)");
  }
  return o;
}

}  // namespace sockudo::loadgen
