#pragma once
// The oracle of every fuzz target: a broken invariant aborts with the target's name (the
// executable's) and what broke, so libFuzzer keeps the input as a crash and the corpus replay
// in CI fails with a readable reason.
#include <cerrno>  // program_invocation_short_name (GNU)
#include <cstdio>
#include <cstdlib>

namespace wardgate::fuzz {

inline void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "%s: %s\n", program_invocation_short_name, what);
    std::abort();
  }
}

}  // namespace wardgate::fuzz
