// Replays fuzz inputs through the core's fuzz targets' own code (test/fuzz/*.h, without
// libFuzzer), under this build's sanitizers: every file in test/fuzz/regressions/<target>/ (inputs
// that once found a bug) and the committed seed corpora, test/fuzz/corpus/<target>/ (fuzz_replay.h).
// The transport's target, fuzz_h2_session, is replayed by test_transport_h2_session.cc.
#include "../fuzz/deflate_target.h"
#include "../fuzz/extended_connect.h"
#include "../fuzz/extension.h"
#include "../fuzz/frames.h"
#include "../fuzz/http_heads.h"
#include "../fuzz/mask_target.h"
#include "../fuzz/utf8_target.h"
#include "fuzz_replay.h"
#include "harness.h"

namespace {

using fuzz_replay::FuzzFn;
using fuzz_replay::replay_dir;

int frames_server(const uint8_t* d, size_t n) { return fuzz_frames::fuzz_one(sockudo::protocol::Role::Server, d, n); }
int frames_client(const uint8_t* d, size_t n) { return fuzz_frames::fuzz_one(sockudo::protocol::Role::Client, d, n); }

struct Target {
  const char* name;
  FuzzFn fn;
};
const Target kTargets[] = {
    {"fuzz_frames_server", frames_server},
    {"fuzz_frames_client", frames_client},
    {"fuzz_http_request_head", fuzz_http::fuzz_request},
    {"fuzz_http_response_head", fuzz_http::fuzz_response},
    {"fuzz_extension_header", fuzz_extension::fuzz_one},
    {"fuzz_utf8", fuzz_utf8::fuzz_one},
    {"fuzz_mask", fuzz_mask::fuzz_one},
    {"fuzz_deflate", fuzz_deflate::fuzz_one},
    {"fuzz_extended_connect", fuzz_extended_connect::fuzz_one},
};

}  // namespace

TEST(seed_corpora_replay_cleanly) {
  for (const Target& t : kTargets) replay_dir(t.name, t.fn, "corpus", true);
}

TEST(fuzz_regressions_stay_fixed) {
  for (const Target& t : kTargets) replay_dir(t.name, t.fn, "regressions", false);
}
