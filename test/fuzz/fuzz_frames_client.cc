// libFuzzer entry: the Connection engine as a client, masking with a MaskKeyPool over a
// deterministic RandomSource (see frames.h for the input layout).
#include "frames.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return fuzz_frames::fuzz_one(sockudo::protocol::Role::Client, data, size);
}
