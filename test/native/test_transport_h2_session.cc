// The HTTP/2 session layer (transport/h2_session.cc and the endpoints on its streams) under this
// build's sanitizers: fuzz_h2_session's seeds and saved regressions replayed through the target's
// own code (test/fuzz/h2_session_target.h: a fake link on a real libuv loop).
#include "../fuzz/h2_session_target.h"
#include "fuzz_replay.h"
#include "harness.h"

TEST(h2_session_seed_corpus_replays_cleanly) {
  fuzz_replay::replay_dir("fuzz_h2_session", fuzz_h2_session::fuzz_one, "corpus", true);
}

TEST(h2_session_fuzz_regressions_stay_fixed) {
  fuzz_replay::replay_dir("fuzz_h2_session", fuzz_h2_session::fuzz_one, "regressions", false);
}
