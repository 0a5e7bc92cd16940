#include "symbols/ksyms.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace pgstall::symbols {

bool KernelSymbols::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  load_text(ss.str());
  return loaded();
}

void KernelSymbols::load_text(std::string_view text) {
  syms_.clear();
  end_ = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    // "ffffffff81000000 T _stext" or "... t name\t[module]"
    size_t a = line.find(' ');
    if (a == std::string_view::npos || a + 3 > line.size()) continue;
    const char type = line[a + 1];
    if (type != 't' && type != 'T' && type != 'w' && type != 'W') continue;
    uint64_t addr = 0;
    bool ok = a > 0;
    for (char c : line.substr(0, a)) {
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0) ok = false;
      addr = addr * 16 + static_cast<uint64_t>(d < 0 ? 0 : d);
    }
    if (!ok || addr == 0) continue;
    std::string_view name = line.substr(a + 3);
    if (size_t tab = name.find('\t'); tab != std::string_view::npos) name = name.substr(0, tab);
    if (name == "_etext") end_ = addr;
    syms_.emplace_back(addr, std::string(name));
  }
  std::sort(syms_.begin(), syms_.end());
  if (!end_ && !syms_.empty()) end_ = syms_.back().first + 1;
  // Module text lies above _etext: the last symbol's end is the limit then.
  if (!syms_.empty() && syms_.back().first >= end_) end_ = syms_.back().first + 1;
}

std::string KernelSymbols::name(uint64_t addr) const {
  auto it = std::upper_bound(syms_.begin(), syms_.end(), addr,
                             [](uint64_t a, const auto& s) { return a < s.first; });
  if (it == syms_.begin() || addr >= end_ + 0x100000) return fmt::format("[kernel]+{:#x}", addr);
  return std::prev(it)->second;
}

}  // namespace pgstall::symbols
