// libFuzzer entry: the HTTP/2 session layer on a fake link (see h2_session_target.h).
#include "h2_session_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_h2_session::fuzz_one(data, size); }
