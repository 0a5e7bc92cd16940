#include "model/syscalls.h"

#include <array>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace pgstall::model {
namespace {

struct Table {
  std::vector<std::string> by_nr;
  std::unordered_map<std::string, int> by_name;
  std::vector<SyscallClass> cls;
  std::vector<bool> fd0;
};

const Table& table() {
  static const Table t = [] {
    Table t;
    for (std::size_t i = 0; i < detail::kSyscallsX86_64Count; ++i) {
      auto [nr, name] = detail::kSyscallsX86_64[i];
      if (nr >= static_cast<int>(t.by_nr.size())) t.by_nr.resize(nr + 1);
      t.by_nr[nr] = name;
      t.by_name[name] = nr;
    }
    t.cls.assign(t.by_nr.size(), SyscallClass::Other);
    t.fd0.assign(t.by_nr.size(), false);
    auto mark = [&](std::initializer_list<const char*> names, SyscallClass c, bool fd0) {
      for (auto n : names) {
        auto it = t.by_name.find(n);
        if (it == t.by_name.end()) continue;
        t.cls[it->second] = c;
        t.fd0[it->second] = fd0;
      }
    };
    mark({"read", "write", "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2",
          "pwritev2", "fsync", "fdatasync", "sync_file_range", "fallocate", "ftruncate", "fadvise64",
          "copy_file_range", "io_uring_enter", "getdents64", "lseek"},
         SyscallClass::FileIo, true);
    mark({"openat", "open", "unlink", "unlinkat", "rename", "renameat", "renameat2", "truncate",
          "sync", "syncfs", "mkdir", "mkdirat", "rmdir", "newfstatat", "stat", "lstat", "statx",
          "io_getevents"},
         SyscallClass::FileIo, false);
    mark({"futex", "futex_waitv"}, SyscallClass::Futex, false);
    mark({"epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll"}, SyscallClass::Poll, false);
    mark({"select", "pselect6", "nanosleep", "clock_nanosleep", "pause", "rt_sigsuspend",
          "rt_sigtimedwait", "wait4", "waitid"},
         SyscallClass::Sleep, false);
    mark({"sendto", "recvfrom", "sendmsg", "recvmsg"}, SyscallClass::ClientIo, true);
    // syncfs takes an fd too
    if (auto it = t.by_name.find("syncfs"); it != t.by_name.end()) t.fd0[it->second] = true;
    return t;
  }();
  return t;
}

}  // namespace

std::string syscall_name(int nr) {
  const auto& t = table();
  if (nr >= 0 && nr < static_cast<int>(t.by_nr.size()) && !t.by_nr[nr].empty()) return t.by_nr[nr];
  return "syscall_" + std::to_string(nr);
}

int syscall_number(std::string_view name) {
  const auto& t = table();
  auto it = t.by_name.find(std::string(name));
  return it == t.by_name.end() ? -1 : it->second;
}

SyscallClass syscall_class(int nr) {
  const auto& t = table();
  return nr >= 0 && nr < static_cast<int>(t.cls.size()) ? t.cls[nr] : SyscallClass::Other;
}

bool syscall_arg0_is_fd(int nr) {
  const auto& t = table();
  return nr >= 0 && nr < static_cast<int>(t.fd0.size()) && t.fd0[nr];
}

}  // namespace pgstall::model
