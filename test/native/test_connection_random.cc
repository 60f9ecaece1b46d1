// Connection under generated input: plausible frames mixed with noise, fed whole and split at a
// random point. Nothing may crash (the run is under ASan/UBSan), and the split must not change
// the events or the bytes sent.
#include <cstring>
#include <string>
#include <vector>

#include "core/protocol/connection.h"
#include "harness.h"
#include "protocol_test_support.h"

using namespace testsupport;
using harness::to_hex;

namespace {
// Plausible frames (any opcode, flags, mask bit, lengths around the 7/16-bit boundaries) mixed
// with raw noise.
std::vector<uint8_t> random_stream(FakeRandom& rng) {
  auto r = [&](uint32_t n) {
    uint8_t b[4];
    rng.fill(b, 4);
    uint32_t v;
    std::memcpy(&v, b, 4);
    return n ? v % n : v;
  };
  std::vector<uint8_t> out;
  const uint32_t frames = 1 + r(6);
  for (uint32_t i = 0; i < frames; i++) {
    if (r(30) == 0) {
      for (uint32_t j = r(20); j > 0; j--) out.push_back(static_cast<uint8_t>(r(256)));
      continue;
    }
    static const uint8_t firsts[] = {0x81, 0x81, 0x82, 0x82, 0x01, 0x02, 0x00, 0x80, 0x80,
                                     0x88, 0x89, 0x89, 0x8a, 0xc1, 0xa2, 0x83};
    const uint8_t first = r(40) == 0 ? static_cast<uint8_t>(r(256)) : firsts[r(sizeof(firsts))];
    const uint32_t len = r(4) == 0 ? 120 + r(20) : r(12);
    std::vector<uint8_t> payload(len);
    for (auto& b : payload) b = r(200) == 0 ? static_cast<uint8_t>(0x80 + r(128)) : static_cast<uint8_t>('a' + r(26));
    if (first == 0x88 && len != 1 && len < 126 && r(4) != 0) {
      payload.resize(2);  // mostly valid closes: 1000-1003, 1007-1009
      payload[0] = 0x03;
      payload[1] = static_cast<uint8_t>(0xe8 + r(10));
    }
    auto f = r(40) == 0 ? frame(first, payload) : cframe(first, payload);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}
}  // namespace

TEST(random_input_never_crashes_and_is_split_independent) {
  FakeRandom rng({}, 12345);
  int with_message = 0, with_error = 0, with_close = 0;
  for (int round = 0; round < 3000; round++) {
    const auto input = random_stream(rng);
    uint8_t cut_bytes[2];
    rng.fill(cut_bytes, 2);
    const size_t cut = input.empty() ? 0 : (cut_bytes[0] | cut_bytes[1] << 8) % (input.size() + 1);
    ConnectionConfig cfg;
    cfg.max_message_size = 200;
    Connection whole(cfg, 0), split(cfg, 0);
    EventLog a, b;
    std::vector<uint8_t> w = input;
    whole.receive(w.data(), w.size(), 1, a);
    std::vector<uint8_t> p1(input.begin(), input.begin() + static_cast<long>(cut));
    std::vector<uint8_t> p2(input.begin() + static_cast<long>(cut), input.end());
    split.receive(p1.data(), p1.size(), 1, b);
    split.receive(p2.data(), p2.size(), 1, b);
    REQUIRE_MSG(a.events == b.events, to_hex(input) + " cut " + std::to_string(cut));
    REQUIRE(pending_bytes(whole.output()) == pending_bytes(split.output()));
    REQUIRE(whole.state() == split.state());
    REQUIRE(a.closes <= 1);
    const std::string all = join(a.events);
    with_message += all.find("text:") != std::string::npos || all.find("binary:") != std::string::npos;
    with_error += all.find("error ") != std::string::npos;
    with_close += all.find("close 100") != std::string::npos && all.find("close 1006") == std::string::npos;
  }
  // The generator reaches every path: messages, violations and clean closes.
  CHECK(with_message > 300);
  CHECK(with_error > 300);
  CHECK(with_close > 30);
  std::printf("    random streams: %d with messages, %d failed, %d closed cleanly\n", with_message,
              with_error, with_close);
}
