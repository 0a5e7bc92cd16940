// io-wait: one file syscall, or one uninterruptible (D state) sleep, that has
// not come back for longer than the threshold. A socket, pipe or eventfd is
// not a file: waiting on one is waiting for a peer.
#include <fmt/format.h>

#include "detect/kind.h"
#include "model/syscalls.h"

namespace pgstall::detect {
namespace {

constexpr std::string_view kName = "io-wait";
constexpr ThresholdSpec kAfter{"io-wait", "io_wait_s", Unit::Seconds, 1.0, "io-wait threshold"};

bool is_peer_fd(const std::string& path) {
  return path.rfind("socket:", 0) == 0 || path.rfind("pipe:", 0) == 0 || path.rfind("anon_inode:", 0) == 0;
}

// D state is not I/O by itself: a backend tearing down its address space
// on exit sleeps uninterruptibly too (unlink_file_vma, free_pgtables).
bool exiting(const model::Snapshot& s) {
  static const int kExit = model::syscall_number("exit"), kExitGroup = model::syscall_number("exit_group");
  return s.in_syscall && (s.sc_nr == kExit || s.sc_nr == kExitGroup);
}

class IoWait final : public StatelessJudge {
 public:
  explicit IoWait(const Settings& s) : after_s_(s.get(kAfter)) {}

  std::optional<Stall> judge(uint64_t now, const model::Snapshot& s) override {
    const char state = s.task_state();
    const bool file_io = s.in_syscall && model::syscall_class(s.sc_nr) == model::SyscallClass::FileIo;
    if (file_io && !is_peer_fd(s.sc_fd_path) && secs(s.sc_start_ns, now) >= after_s_) {
      Stall st = open_stall(kName, now, s, s.sc_start_ns, s.lower_bound);
      const std::string& file = s.sc_fd_path;
      if (!file.empty()) st.detail["file"] = file;
      st.summary = fmt::format("{}({}) {}", st.syscall, file.empty() ? "?" : file,
                               state == 'D' ? "in D state" : fmt::format("in state {}", state));
      return st;
    }
    if (!s.on_cpu && s.offcpu_state == 'D' && !exiting(s) && s.offcpu_since_ns &&
        secs(s.offcpu_since_ns, now) >= after_s_) {
      Stall st = open_stall(kName, now, s, s.offcpu_since_ns, s.lower_bound);
      st.summary = fmt::format("uninterruptible sleep (D state){}", st.syscall.empty() ? "" : " in " + st.syscall);
      return st;
    }
    return std::nullopt;
  }

 private:
  double after_s_;
};

}  // namespace

const KindSpec& io_wait_kind() {
  static const KindSpec k{
      .name = kName,
      .signal = "one file syscall or one D-state sleep that has not come back",
      .thresholds = {kAfter},
      .make = [](const Settings& s) { return std::make_unique<IoWait>(s); },
      // One cause, one stall: a futex sleep that is an LWLock wait is not also an I/O wait.
      .yields_to = {"lwlock-wait", "io-slow"},
      .sleep_key = kAfter.key,
      .enrich = kEnrichIo,
  };
  return k;
}

}  // namespace pgstall::detect
