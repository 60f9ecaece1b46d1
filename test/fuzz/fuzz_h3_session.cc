// libFuzzer entry: the HTTP/3 layer, our client and server over lossy queues (see h3_session_target.h).
#include "h3_session_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_h3_session::fuzz_one(data, size); }
