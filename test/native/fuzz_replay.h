// Replaying fuzz inputs through a target's own code (test/fuzz/*.h, without libFuzzer): every file
// in test/fuzz/<kind>/<target>/, each in a forked child, so one that crashes (a sanitizer report,
// a violated property's abort) is reported by name as a failure and the others still run.
// Shared by test_fuzz_regressions.cc (the core's targets) and test_transport_h2_session.cc.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "harness.h"

namespace fuzz_replay {

namespace fs = std::filesystem;

using FuzzFn = int (*)(const uint8_t*, size_t);

inline const fs::path kFuzzDir = fs::path(__FILE__).parent_path().parent_path() / "fuzz";

inline std::vector<fs::path> inputs(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Runs fn on the file in a child process; true when the child exits 0.
inline bool replay(FuzzFn fn, const fs::path& file, std::string& why) {
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
    {
      // A copy sized exactly, as libFuzzer hands it over, so overreads are caught; freed before
      // _exit so valgrind sees no leak.
      std::vector<uint8_t> copy(data);
      fn(copy.data(), copy.size());
    }
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

inline void replay_dir(const char* target, FuzzFn fn, const char* kind, bool must_exist) {
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

}  // namespace fuzz_replay
