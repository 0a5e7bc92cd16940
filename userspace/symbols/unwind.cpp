#include "symbols/unwind.h"

#include <elfutils/libdwfl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace pgstall::symbols {
namespace {

struct Ctx {
  pid_t pid;
  uint64_t pc, sp, fp;
  std::vector<uint64_t>* out;
  size_t max;
};

pid_t next_thread(Dwfl*, void* arg, void** thread_argp) {
  if (*thread_argp) return 0;  // one thread: the one asked about
  *thread_argp = arg;
  return static_cast<Ctx*>(arg)->pid;
}

bool memory_read(Dwfl*, Dwarf_Addr addr, Dwarf_Word* result, void* arg) {
  const auto* c = static_cast<Ctx*>(arg);
  uint64_t v = 0;
  iovec local{&v, sizeof v}, remote{reinterpret_cast<void*>(addr), sizeof v};
  if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) != static_cast<ssize_t>(sizeof v)) return false;
  *result = v;
  return true;
}

bool set_initial_registers(Dwfl_Thread* thread, void* arg) {
  const auto* c = static_cast<Ctx*>(arg);
#if defined(__x86_64__)
  // DWARF register numbers: 6 rbp, 7 rsp (16 is the return address column).
  Dwarf_Word regs[2] = {c->fp, c->sp};
  if (!dwfl_thread_state_registers(thread, 6, 2, regs)) return false;
#elif defined(__aarch64__)
  // 29 x29 (frame pointer), 31 sp.
  Dwarf_Word fp = c->fp, sp = c->sp;
  if (!dwfl_thread_state_registers(thread, 29, 1, &fp) || !dwfl_thread_state_registers(thread, 31, 1, &sp))
    return false;
#endif
  dwfl_thread_state_register_pc(thread, c->pc);
  return true;
}

int on_frame(Dwfl_Frame* state, void* arg) {
  auto* c = static_cast<Ctx*>(arg);
  Dwarf_Addr pc = 0;
  bool activation = false;
  if (!dwfl_frame_pc(state, &pc, &activation) || pc == 0) return DWARF_CB_ABORT;
  c->out->push_back(pc);
  return c->out->size() >= c->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

const Dwfl_Callbacks kProcCallbacks = {
    dwfl_linux_proc_find_elf,      // the files the process maps, by path
    dwfl_standard_find_debuginfo,  // .eh_frame is in the file; debug files when installed
    nullptr, nullptr};

Dwfl_Thread_Callbacks kThreadCallbacks = {next_thread, nullptr, memory_read, set_initial_registers, nullptr,
                                          nullptr};

}  // namespace

Result<std::vector<uint64_t>> unwind_user_stack(int pid, const UserRegs& regs, size_t max_frames) {
  if (!regs.pc || !regs.sp) return fail("no saved registers");
  std::vector<uint64_t> out;
  Ctx ctx{pid, regs.pc, regs.sp, regs.fp, &out, max_frames};
  std::unique_ptr<Dwfl, decltype(&dwfl_end)> dwfl(dwfl_begin(&kProcCallbacks), dwfl_end);  // ends before ctx
  if (!dwfl) return fail(dwfl_errmsg(-1));
  dwfl_report_begin(dwfl.get());
  if (int rc = dwfl_linux_proc_report(dwfl.get(), pid); rc != 0)
    return fail(rc > 0 ? fmt::format("reading /proc/{}/maps: {}", pid, strerror(rc)) : dwfl_errmsg(-1));
  dwfl_report_end(dwfl.get(), nullptr, nullptr);
  if (!dwfl_attach_state(dwfl.get(), nullptr, pid, &kThreadCallbacks, &ctx))
    return fail(fmt::format("dwfl_attach_state: {}", dwfl_errmsg(-1)));
  // The walk ends where the CFI does (or at max_frames): an error then is
  // its end, not a failure, once frames were found.
  if (dwfl_getthread_frames(dwfl.get(), pid, on_frame, &ctx) != 0 && out.empty()) return fail(dwfl_errmsg(-1));
  return out;
}

}  // namespace pgstall::symbols
