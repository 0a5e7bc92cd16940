#pragma once
// hot-loop's window judgement, exposed for its tests.
#include <string>

#include "detect/kind.h"

namespace pgstall::detect {

struct LoopLimits {
  double rate = 0;          // syscalls per second, at least
  double top_share = 0;     // the top 3 syscalls make up at least this share
  double repeat_share = 0;  // calls identical to a recent call (args and result), at least
  static LoopLimits from(const Settings& s);
};

struct LoopVerdict {
  bool looping = false;
  double rate = 0;
  double top_share = 0;
  double repeat_share = 0;
  std::string why_not;  // when !looping: the first criterion that failed
};

LoopVerdict judge_loop_window(const model::Window& w, const LoopLimits& limits);
// "lseek 50% (ret 8192), read 50% (ret 0)"
std::string describe_mix(const model::Window& w);

}  // namespace pgstall::detect
