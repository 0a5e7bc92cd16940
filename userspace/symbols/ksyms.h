#pragma once
// Kernel text addresses to names, from /proc/kallsyms (read once). kallsyms
// gives no sizes: an address takes the nearest symbol at or below it, the
// usual reading for kernel text; an address below every symbol, or above the
// last one, prints as "[kernel]+0x…".
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgstall::symbols {

class KernelSymbols {
 public:
  // Loads /proc/kallsyms (or the given text, for tests). Addresses read as
  // 0 (kptr_restrict, not root) leave it empty: loaded() is false.
  bool load(const std::string& path = "/proc/kallsyms");
  void load_text(std::string_view text);
  bool loaded() const { return !syms_.empty(); }
  std::string name(uint64_t addr) const;

 private:
  std::vector<std::pair<uint64_t, std::string>> syms_;  // sorted by address
  uint64_t end_ = 0;  // _etext or the last symbol: past it, no name
};

}  // namespace pgstall::symbols
