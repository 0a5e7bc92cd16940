#pragma once
// hot-loop's window judgement, exposed for its tests.
#include <string>
#include <vector>

#include "detect/kind.h"

namespace pgstall::detect {

// The longest cycle looked for: the kernel keeps this many mix slots per
// window (PGSTALL_MIX_SLOTS) and 16 calls of sequence, so such a cycle is seen
// at least twice.
constexpr size_t kMaxCycle = 8;

struct LoopLimits {
  double rate = 0;          // syscalls per second, at least
  double cycle_share = 0;   // the cycle's syscalls make up at least this share of the window's calls
  double repeat_share = 0;  // calls identical to a recent call (args and result), at least
  static LoopLimits from(const Settings& s);
};

struct LoopVerdict {
  bool looping = false;
  double rate = 0;
  std::vector<model::SeqCall> cycle;  // the repeating calls, in order (empty: none)
  double cycle_share = 0;
  double repeat_share = 0;
  std::string why_not;  // when !looping: the first criterion that failed
};

LoopVerdict judge_loop_window(const model::Window& w, const LoopLimits& limits);

// The shortest period (at most kMaxCycle calls) the whole sequence repeats
// with, each call the same syscall with the same result every period, seen at
// least twice; empty when there is none. Rotated to a fixed phase (an open
// first, else an lseek, else the smallest syscall number), so one loop reads
// the same whichever call a window ended on.
std::vector<model::SeqCall> find_cycle(const std::vector<model::SeqCall>& sequence);

// Why the cycle is progress although it repeats: a read() that fills its
// buffer every turn from an fd that nothing in the cycle seeks back, closes
// or reopens reads the file forward (COPY FROM a file: the same fd, buffer,
// length and result every call, new data each time). "" when it is not.
std::string reads_forward(const std::vector<model::SeqCall>& cycle);

// "openat(9) → newfstatat(0) → read(-EINTR)"
std::string describe_cycle(const std::vector<model::SeqCall>& cycle);
// "lseek 50% (ret 8192), read 50% (ret 0)"; without the returns when !returns.
std::string describe_mix(const model::Window& w, bool returns = true);

}  // namespace pgstall::detect
