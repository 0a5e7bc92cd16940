#pragma once
// Syscall numbers, names and the classes the detectors care about.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace pgstall::model {

enum class SyscallClass {
  Other,
  FileIo,     // reads, writes, syncs, opens: a long one is an I/O wait
  Futex,      // LWLock / semaphore sleeps
  Poll,       // epoll_wait & co: latch waits, idle clients, lock sleeps
  Sleep,      // nanosleep, select with timeout: naps and spin back-off
  ClientIo,   // socket send/recv
};

std::string syscall_name(int nr);              // "pread64", or "syscall_N" when unknown
int syscall_number(std::string_view name);     // -1 when unknown on this architecture
SyscallClass syscall_class(int nr);
bool syscall_arg0_is_fd(int nr);               // read/pread64/fsync/...: arg0 names the file

namespace detail {
extern const std::pair<int, const char*> kSyscallsX86_64[];
extern const std::size_t kSyscallsX86_64Count;
}  // namespace detail

}  // namespace pgstall::model
