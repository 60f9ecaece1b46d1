// sockudo-loadgen: a native WebSocket load generator for servers on this machine.
//
// Usage: sockudo-loadgen --scenario echo|pipelined|broadcast|connections|latency --port N [--tls] [...]
// (bench/loadgen/README.md documents every scenario, the server contract and the JSON fields).
//
// Output: progress lines on stderr; exactly one JSON object on stdout at the end (the
// connections scenario prints one {"phase":"idle"} line before it). Every result has
//   scenario, ok (no errors and no fatal failure), errors, host, port, path,
//   bytes_sent, bytes_received, deflate_offered, deflate_connections,
//   compressed_messages_received, tls (with --tls also tls_resume_offered, tls_handshakes,
//   tls_resumed, tls_protocol, tls_cipher, tls_group)
// plus the scenario's own fields; a fatal failure has ok=false and "fatal": "<reason>".
// Exit status: 0 ok, 1 the run finished with errors, 2 usage (including a refused host),
// 3 fatal (stall, connections that would not open, ...).
#include <sched.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include "endpoint.h"
#include "options.h"
#include "runner.h"
#include "scenarios.h"
#include "tls.h"

using namespace sockudo::loadgen;

namespace {

// Connections need file descriptors: take all the hard limit allows.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

void pin_to_cpu(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    throw UsageError("--cpu " + std::to_string(cpu) + ": " + strerror(errno));
  }
}

void emit(const Options& o, const std::string& json) {
  std::printf("%s\n", json.c_str());
  std::fflush(stdout);
  if (!o.json_out.empty()) {
    std::ofstream f(o.json_out);
    f << json << '\n';
    if (!f) std::fprintf(stderr, "[%s] cannot write %s\n", o.scenario.c_str(), o.json_out.c_str());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  Endpoint endpoint;
  try {
    o = parse_options(argc, argv);
    std::string error;
    if (!make_endpoint(o.host, o.port, o.path, endpoint, error)) throw UsageError(error);
    if (o.tls && !tls_groups_valid(o.tls_groups, error)) throw UsageError("--tls-groups '" + o.tls_groups + "': " + error);
    if (o.cpu >= 0) pin_to_cpu(o.cpu);
  } catch (const UsageError& e) {
    if (*e.what()) std::fprintf(stderr, "sockudo-loadgen: %s\n", e.what());
    std::fputs(usage_text(), stderr);
    return 2;
  }
  std::signal(SIGPIPE, SIG_IGN);  // a server closing under us is an error to report, not a signal
  raise_fd_limit();

  JsonObject out;
  out.add("scenario", o.scenario);
  Run run(o, endpoint);
  int status = 0;
  try {
    JsonObject fields;
    if (o.scenario == "echo") run_echo(run, fields);
    else if (o.scenario == "pipelined") run_pipelined(run, fields);
    else if (o.scenario == "broadcast") run_broadcast(run, fields);
    else if (o.scenario == "connections") run_connections(run, fields);
    else run_latency(run, fields);
    status = run.errors() == 0 ? 0 : 1;
    out.add("ok", status == 0).add("errors", run.errors());
    out.merge(fields);
  } catch (const std::exception& e) {  // Fatal, or a system failure (epoll, zlib-ng init)
    std::fprintf(stderr, "[%s] fatal: %s\n", o.scenario.c_str(), e.what());
    status = 3;
    out.add("ok", false).add("errors", run.errors() + 1).add("fatal", e.what());
  }
  out.add("host", o.host).add("port", o.port).add("path", o.path);
  run.add_transport_fields(out);
  emit(o, out.str());
  return status;
}
