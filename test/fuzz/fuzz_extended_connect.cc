// libFuzzer entry: extended CONNECT request and response blocks (see extended_connect.h).
#include "extended_connect.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_extended_connect::fuzz_one(data, size); }
