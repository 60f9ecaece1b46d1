// The HTTP/3 layer (transport/h3_session.cc, h3_stream_link.cc, h3_client_session.cc and the
// endpoints on their streams) under this build's sanitizers: fuzz_h3_session's seeds and saved
// regressions replayed through the target's own code (test/fuzz/h3_session_target.h: our client
// and our server over lossy datagram queues on a real libuv loop).
#include "../fuzz/h3_session_target.h"
#include "fuzz_replay.h"
#include "harness.h"

TEST(h3_session_seed_corpus_replays_cleanly) {
  fuzz_replay::replay_dir("fuzz_h3_session", fuzz_h3_session::fuzz_one, "corpus", true);
}

TEST(h3_session_fuzz_regressions_stay_fixed) {
  fuzz_replay::replay_dir("fuzz_h3_session", fuzz_h3_session::fuzz_one, "regressions", false);
}
