// libFuzzer entry: the permessage-deflate codec (see deflate_target.h).
#include "deflate_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_deflate::fuzz_one(data, size); }
