// Scenario "pipelined" (the phases of the web-socket-benchmark suite, on one connection, made
// protocol-generic for echo servers). Each phase writes everything at once and waits:
//   send: --count "Hello, World!" messages, then "__sync__"; ends when "__sync__" comes back
//         (an echo server also returns the --count messages first: read, verified, discarded).
//   echo: --count messages; ends when all --count echoes are back.
//   recv: one "__flood__ <count>" message; the server answers with --count "Hello, World!"
//         messages; ends when all have arrived.
#include <cstdio>
#include <string>

#include "clock.h"
#include "scenarios.h"

namespace sockudo::loadgen {
namespace {

constexpr std::string_view kHello = "Hello, World!";
constexpr size_t kMaxKept = 64;  // longer messages are wrong in every phase

class PipelinedHandler final : public ScenarioHandler {
 public:
  enum class Phase { None, Send, Echo, Recv };
  using ScenarioHandler::ScenarioHandler;

  void start(Phase p, uint64_t count) {
    phase_ = p;
    expected_ = count;
    hellos = 0;
    done = false;
  }

  void on_message_begin(Conn&, Opcode op) override {
    msg_.clear();
    too_long_ = false;
    text_ = op == kText;
  }
  void on_message_data(Conn&, const uint8_t* d, size_t n) override {
    if (msg_.size() + n > kMaxKept) {
      too_long_ = true;
    } else {
      msg_.append(reinterpret_cast<const char*>(d), n);
    }
  }
  void on_message_end(Conn&) override {
    ++received;
    const bool hello = text_ && !too_long_ && msg_ == kHello;
    if (phase_ == Phase::Send && text_ && !too_long_ && msg_ == "__sync__") {
      if (hellos != expected_) {
        run_.error("\"__sync__\" came back after " + std::to_string(hellos) + " of " +
                   std::to_string(expected_) + " echoes");
      }
      done = true;
      return;
    }
    if (phase_ == Phase::None || done) {
      run_.error("unexpected message outside a phase");
      return;
    }
    if (!hello) {
      run_.error("expected \"Hello, World!\", got a " + std::string(text_ ? "text" : "binary") +
                 " message of " + (too_long_ ? "more than 64" : std::to_string(msg_.size())) + " bytes");
      return;
    }
    ++hellos;
    if (phase_ != Phase::Send && hellos == expected_) done = true;
  }

  uint64_t received = 0, hellos = 0;
  bool done = false;

 private:
  Phase phase_ = Phase::None;
  uint64_t expected_ = 0;
  std::string msg_;
  bool too_long_ = false, text_ = false;
};

}  // namespace

void run_pipelined(Run& run, JsonObject& out) {
  const Options& o = run.opt;
  PipelinedHandler h(run);
  run.create(1, h);
  run.open_all(true);
  Conn& c = *run.conns[0];
  // One frame, repeated in 64 KiB blocks: writing N messages costs N/3000-odd iovecs.
  const PreparedMessage hello = c.prepare(kText, std::vector<uint8_t>(kHello.begin(), kHello.end()), 64 * 1024);

  auto phase = [&](PipelinedHandler::Phase p, const char* name) {
    h.start(p, o.count);
    const int64_t t0 = now_ns();
    if (p == PipelinedHandler::Phase::Recv) {
      const std::string cmd = "__flood__ " + std::to_string(o.count);
      c.send(kText, reinterpret_cast<const uint8_t*>(cmd.data()), cmd.size());
    } else {
      c.send_prepared(hello, o.count);
      if (p == PipelinedHandler::Phase::Send) c.send(kText, reinterpret_cast<const uint8_t*>("__sync__"), 8);
    }
    Watchdog watchdog(o.stall_timeout);
    Ticker ticker(t0);
    while (!h.done) {
      const int64_t now = now_ns();
      if (ticker.due(now)) {
        run.log("%s: %llu of %llu messages back", name, static_cast<unsigned long long>(h.hellos),
                static_cast<unsigned long long>(o.count));
      }
      watchdog.check(h.received, name);
      if (!c.is_open()) throw Fatal(std::string("the connection ended during the ") + name + " phase");
      run.loop.run_once(ticker.next());
    }
    const double ms = static_cast<double>(now_ns() - t0) / 1e6;
    run.log("%s: %llu messages in %.1f ms", name, static_cast<unsigned long long>(o.count), ms);
    return ms;
  };
  const double send_ms = phase(PipelinedHandler::Phase::Send, "send");
  const double echo_ms = phase(PipelinedHandler::Phase::Echo, "echo");
  const double recv_ms = phase(PipelinedHandler::Phase::Recv, "recv");
  h.stopping = true;
  run.close_all(2);

  const double n = static_cast<double>(o.count);
  out.add("count", o.count).add("send_ms", send_ms).add("echo_ms", echo_ms).add("recv_ms", recv_ms);
  out.add("total_ms", send_ms + echo_ms + recv_ms);
  out.add("send_rate", n / send_ms * 1e3).add("echo_rate", n / echo_ms * 1e3).add("recv_rate", n / recv_ms * 1e3);
}

}  // namespace sockudo::loadgen
