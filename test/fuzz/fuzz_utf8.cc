// libFuzzer entry: the streaming UTF-8 validator against a reference decoder (see utf8_target.h).
#include "utf8_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_utf8::fuzz_one(data, size); }
