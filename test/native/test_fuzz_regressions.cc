// Replays fuzz inputs through the fuzz targets' own code (test/fuzz/*.h, without libFuzzer),
// under this build's sanitizers: every file in test/fuzz/regressions/<target>/ (inputs that once
// found a bug) and the committed seed corpora, test/fuzz/corpus/<target>/. Each input runs in a
// forked child, so one that crashes (a sanitizer report, a violated property's abort) is reported
// by name as a failure and the others still run.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/deflate_target.h"
#include "../fuzz/extended_connect.h"
#include "../fuzz/extension.h"
#include "../fuzz/frames.h"
#include "../fuzz/http_heads.h"
#include "../fuzz/mask_target.h"
#include "../fuzz/utf8_target.h"
#include "harness.h"

namespace fs = std::filesystem;

namespace {

using FuzzFn = int (*)(const uint8_t*, size_t);

int frames_server(const uint8_t* d, size_t n) { return fuzz_frames::fuzz_one(sockudo::protocol::Role::Server, d, n); }
int frames_client(const uint8_t* d, size_t n) { return fuzz_frames::fuzz_one(sockudo::protocol::Role::Client, d, n); }

const fs::path kFuzzDir = fs::path(__FILE__).parent_path().parent_path() / "fuzz";

std::vector<fs::path> inputs(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs fn on the file in a child process; true when the child exits 0.
bool replay(FuzzFn fn, const fs::path& file, std::string& why) {
  std::ifstream in(file, std::ios::binary);
  const std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    why = "fork failed";
    return false;
  }
  if (pid == 0) {
    // A copy sized exactly, as libFuzzer hands it over, so overreads are caught.
    std::vector<uint8_t> copy(data);
    fn(copy.data(), copy.size());
    std::fflush(nullptr);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  why = WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                            : "exit status " + std::to_string(WEXITSTATUS(status));
  return false;
}

void replay_dir(const char* target, FuzzFn fn, const char* kind, bool must_exist) {
  const fs::path dir = kFuzzDir / kind / target;
  const auto files = inputs(dir);
  if (must_exist && files.empty()) {
    harness::fail(__FILE__, __LINE__, "no inputs in " + dir.string());
    return;
  }
  int failed = 0;
  for (const auto& f : files) {
    std::string why;
    if (!replay(fn, f, why)) {
      failed++;
      harness::fail(__FILE__, __LINE__, std::string(kind) + "/" + target + "/" + f.filename().string() + ": " + why);
    }
  }
  std::printf("    %s/%s: %zu inputs, %d failed\n", kind, target, files.size(), failed);
}

struct Target {
  const char* name;
  FuzzFn fn;
};
const Target kTargets[] = {
    {"fuzz_frames_server", frames_server},
    {"fuzz_frames_client", frames_client},
    {"fuzz_http_request_head", fuzz_http::fuzz_request},
    {"fuzz_http_response_head", fuzz_http::fuzz_response},
    {"fuzz_extension_header", fuzz_extension::fuzz_one},
    {"fuzz_utf8", fuzz_utf8::fuzz_one},
    {"fuzz_mask", fuzz_mask::fuzz_one},
    {"fuzz_deflate", fuzz_deflate::fuzz_one},
    {"fuzz_extended_connect", fuzz_extended_connect::fuzz_one},
};

}  // namespace

TEST(seed_corpora_replay_cleanly) {
  for (const Target& t : kTargets) replay_dir(t.name, t.fn, "corpus", true);
}

TEST(fuzz_regressions_stay_fixed) {
  for (const Target& t : kTargets) replay_dir(t.name, t.fn, "regressions", false);
}
