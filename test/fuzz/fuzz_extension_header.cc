// libFuzzer entry: parse_extension_header + negotiate_deflate + accept_deflate_response (see
// extension.h).
#include "extension.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) { return fuzz_extension::fuzz_one(data, size); }
