// libFuzzer entry: 101 responses through ClientHandshake with a fixed key (see http_heads.h).
#include "http_heads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_http::fuzz_response(data, size); }
