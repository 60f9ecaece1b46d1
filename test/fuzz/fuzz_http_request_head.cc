// libFuzzer entry: request heads through HttpHeadParser and validate_upgrade (see http_heads.h).
#include "http_heads.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_http::fuzz_request(data, size); }
