// libFuzzer entry: every supported mask kernel against scalar and a reference (see mask_target.h).
#include "mask_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_mask::fuzz_one(data, size); }
