#include "symbols/stall_stack.h"

#include <iterator>

#include "pgstall.h"

namespace pgstall::symbols {

std::vector<std::string> kernel_tail(const std::vector<std::string>& inner_first) {
  std::vector<std::string> out;
  out.reserve(inner_first.size());
  for (auto it = inner_first.rbegin(); it != inner_first.rend(); ++it) out.push_back(*it + " [k]");
  return out;
}

Result<std::vector<std::string>> unwind_stall_stack(int pid, const UserRegs& regs, Symbolizer& syms,
                                                    std::vector<std::string> kernel_root_first) {
  auto pcs = unwind_user_stack(pid, regs, PGSTALL_STACK_DEPTH);
  if (!pcs) return pcs.error();
  if (pcs->size() < 2) return fail(std::string(kTooFewFrames));
  for (size_t i = 1; i < pcs->size(); ++i) --(*pcs)[i];  // return addresses: look inside the call
  auto names = syms.symbolize(pid, *pcs);
  if (names.size() != pcs->size()) return fail(std::string(kTooFewFrames));  // gone meanwhile
  std::vector<std::string> frames(std::make_move_iterator(names.rbegin()), std::make_move_iterator(names.rend()));
  frames.insert(frames.end(), std::make_move_iterator(kernel_root_first.begin()),
                std::make_move_iterator(kernel_root_first.end()));
  return frames;
}

}  // namespace pgstall::symbols
