#pragma once
// A detector's verdict: a stall in flight, and the events that start and
// end it.
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace pgstall::detect {

struct Stall {
  std::string kind;     // a registered kind's name: "lock-sleep", "io-wait", ...
  int pid = 0;
  uint64_t since_ns = 0;
  bool lower_bound = false;
  std::string syscall;  // the syscall it sits in, if any
  char state = '?';     // task state: R, S, D
  std::string summary;  // one line, human words
  nlohmann::json detail = nlohmann::json::object();
  // Ring records its kind depends on that a full ring lost while it was in
  // flight, per probe: its verdict or its end may lack them. Empty: complete.
  std::map<std::string, uint64_t> input_lost;
};

struct Event {
  enum class Type { Start, End };
  Type type{};
  Stall stall;
  double duration_s = 0;    // at start: so far; at end: total
  uint32_t woken_by = 0;    // End: who woke the thread out of the stall (0 = unknown)
  bool exited = false;      // End: the process exited
};

}  // namespace pgstall::detect
