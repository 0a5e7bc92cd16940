#include "capture/pgmem.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cstddef>
#include <cstring>
#include <vector>

#include "model/procfs.h"
#include "symbols/elf.h"

namespace pgstall::capture {
namespace {

constexpr std::string_view kDeleted = " (deleted)";
constexpr size_t kMaxMapsBytes = 64u << 20;

std::string hex(uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v, 16);
  (void)ec;
  return "0x" + std::string(buf, p);
}

std::string who(int pid) { return "pid " + std::to_string(pid); }

std::string who(int pid, const std::string& path) { return who(pid) + " (" + path + ")"; }


std::string_view strip_deleted(std::string_view path) {
  if (path.ends_with(kDeleted)) path.remove_suffix(kDeleted.size());
  return path;
}

// Leading integer of PG_VERSION ("15\n"; "9.6" → 9).
int pg_version_file_major(int pid) {
  const auto text = model::read_proc_file(pid, "cwd/PG_VERSION");
  if (!text) return 0;
  int v = 0;
  const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  (void)p;
  return ec == std::errc{} && v > 0 ? v : 0;
}

std::string exited(int pid) { return who(pid) + ": no such process (it has exited)"; }

std::string errno_message(int pid, int e, const std::string& what) {
  switch (e) {
    case ESRCH:
      return exited(pid);
    case EPERM:
    case EACCES:
      // The kernel's ptrace access check: CAP_SYS_PTRACE in the target's user
      // namespace, or same uid and no capabilities beyond ours.
      return who(pid) + ": not permitted to " + what +
             " (run as root; a process of a parent user namespace stays out of reach, and "
             "kernel.yama.ptrace_scope=3 forbids it for everyone)";
    default:
      return who(pid) + ": cannot " + what + ": " + std::strerror(e);
  }
}

struct ExeLink {
  std::string path;
  int error = 0;
};

ExeLink read_exe_link(int pid) {
  const std::string link = "/proc/" + std::to_string(pid) + "/exe";
  std::string buf(256, '\0');
  for (;;) {
    const ssize_t n = ::readlink(link.c_str(), buf.data(), buf.size());
    if (n < 0) return {{}, errno};
    if (static_cast<size_t>(n) < buf.size()) {
      buf.resize(static_cast<size_t>(n));
      return {std::move(buf), 0};
    }
    if (buf.size() >= 64 * 1024) return {{}, ENAMETOOLONG};
    buf.resize(buf.size() * 4);
  }
}

// Streams /proc/PID/maps until `match` accepts a line: the executable's
// mappings come first (lowest addresses), so this usually reads one chunk.
// nullopt: no line matched; an error: the file could not be read.
template <typename Match>
Result<std::optional<model::MapsLine>> find_mapping(int pid, Match match) {
  const std::string path = "/proc/" + std::to_string(pid) + "/maps";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int e = errno;
    return fail(errno_message(pid, e, "read " + path));
  }
  std::string buf;
  size_t done = 0, total = 0;
  char chunk[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0) {
      const int e = errno;
      if (e == EINTR) continue;
      return fail(errno_message(pid, e, "read " + path));
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
    if (total > kMaxMapsBytes) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t nl;
    while ((nl = buf.find('\n', done)) != std::string::npos) {
      const auto line = model::parse_maps_line(std::string_view(buf).substr(done, nl - done));
      done = nl + 1;
      if (line && match(*line)) return line;
    }
    buf.erase(0, done);
    done = 0;
  }
  return {std::nullopt};
}

// All of len bytes at addr in pid's memory, or false.
bool read_whole(int pid, uint64_t addr, void* buf, size_t len) {
  iovec local{buf, len};
  iovec remote{reinterpret_cast<void*>(addr), len};
  return ::process_vm_readv(pid, &local, 1, &remote, 1, 0) == static_cast<ssize_t>(len);
}

}  // namespace

std::optional<std::string> unsupported_reason(const PgExecutable& exe, int pg_major) {
  if (exe.wait_event_ptr) return std::nullopt;
  if (!exe.is_postgres && !exe.has_symbols)
    return "its executable has no symbol table: not a PostgreSQL server, or a postgres binary stripped even of "
           ".dynsym";
  if (!exe.is_postgres) return "not a PostgreSQL server process (its executable defines no PostgresMain)";
  // PG 13 keeps the event only in MyProc->wait_event_info, at an offset
  // that depends on the build; without debug info it would be a guess.
  if (pg_major > 0 && pg_major < 14)
    return "unsupported: PostgreSQL " + std::to_string(pg_major) +
           " has no my_wait_event_info (its wait event sits in MyProc->wait_event_info at a build-dependent offset, "
           "which pgstall does not guess); PostgreSQL 14 or later is needed";
  return "postgres binary has no my_wait_event_info symbol (stripped? PostgreSQL 14+ exports it)";
}

int pg_major_from_path(std::string_view path) {
  path = strip_deleted(path);
  for (std::string_view marker : {std::string_view("/postgresql/"), std::string_view("/pgsql-")}) {
    for (size_t at = path.find(marker); at != std::string_view::npos; at = path.find(marker, at + 1)) {
      const std::string_view rest = path.substr(at + marker.size());
      int v = 0;
      const auto [p, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
      if (ec == std::errc{} && p != rest.data() && p < rest.data() + rest.size() && *p == '/' && v > 0) return v;
    }
  }
  return 0;
}

Result<PgExecutable> inspect_executable(const symbols::ElfFile& elf) {
  const auto eh = elf.header();
  if (!eh) return eh.error();
  PgExecutable x;
  switch (eh->e_ident[EI_CLASS]) {
    case ELFCLASS32: x.ptr_size = 4; break;
    case ELFCLASS64: x.ptr_size = 8; break;
    default: return fail("unknown ELF class");
  }
  const unsigned char host_data = std::endian::native == std::endian::little ? ELFDATA2LSB : ELFDATA2MSB;
  if (eh->e_ident[EI_DATA] != host_data) return fail("ELF byte order differs from this host's");
  if (eh->e_type != ET_DYN && eh->e_type != ET_EXEC)
    return fail("not an executable (ELF type " + std::to_string(eh->e_type) + ")");

  const auto loads = elf.load_segments();
  if (!loads) return loads.error();
  const auto first_load = std::min_element(loads->begin(), loads->end(),
                                           [](const auto& a, const auto& b) { return a.vaddr < b.vaddr; });
  if (first_load == loads->end()) return fail("no PT_LOAD segment");
  x.build_id = elf.build_id();
  // The kernel maps each PT_LOAD from the page holding p_offset to the page
  // holding bias + p_vaddr (p_vaddr ≡ p_offset mod page), so the mapping whose
  // file offset is the first segment's page start sits at bias + page start of
  // its p_vaddr. For a PIE linked at 0 that is the offset-0 mapping, bias = its start.
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  x.load_vaddr = first_load->vaddr & ~(page - 1);
  x.load_offset = first_load->offset & ~(page - 1);

  // .dynsym first: Debian strips to it. .symtab too, for unstripped builds.
  x.has_symbols = elf.has_symbols();
  for (const auto tables : {symbols::SymbolTables::Dynsym, symbols::SymbolTables::Symtab}) {
    elf.for_each_symbol(tables, symbols::type_bit(STT_OBJECT) | symbols::type_bit(STT_FUNC),
                        [&x](const symbols::ElfSymbol& s) {
                          if (!x.wait_event_ptr && s.type == STT_OBJECT && s.name == "my_wait_event_info")
                            x.wait_event_ptr = s.value;
                          else if (!x.be_entry_ptr && s.type == STT_OBJECT && s.name == "MyBEEntry")
                            x.be_entry_ptr = s.value;
                          else if (!x.is_postgres && s.type == STT_FUNC && s.name == "PostgresMain")
                            x.is_postgres = true;
                          return !(x.wait_event_ptr && x.be_entry_ptr && x.is_postgres);
                        });
  }

  if (x.wait_event_ptr) {
    bool inside = false;
    for (const auto& l : *loads)
      inside = inside || (*x.wait_event_ptr >= l.vaddr && *x.wait_event_ptr + x.ptr_size <= l.vaddr + l.memsz);
    if (!inside) return fail("my_wait_event_info at " + hex(*x.wait_event_ptr) + " lies outside every PT_LOAD segment");
  }
  return x;
}

WaitEventReader::WaitEventReader() = default;
WaitEventReader::~WaitEventReader() = default;

bool WaitEventReader::still_same(int pid, const Target& t) {
  if (t.pidfd) {
    // A pidfd turns readable once its process has exited.
    pollfd p{t.pidfd.get(), POLLIN, 0};
    return ::poll(&p, 1, 0) == 0;
  }
  const auto st = model::read_proc_stat(pid);
  return st && st->starttime_ticks == t.starttime && st->state != 'Z' && st->state != 'X';
}

Result<WaitEventReader::Target> WaitEventReader::resolve(int pid) {
  Target t;
  // Everything below is about the process this pidfd names, if still_same()
  // holds at the end. Without a pidfd (old kernel, out of fds) the start time
  // stands in for it.
  t.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!t.pidfd && errno == ESRCH) return fail(exited(pid));
  const auto st = model::read_proc_stat(pid);
  if (!st) return fail(exited(pid));
  if (st->state == 'Z' || st->state == 'X')
    return fail(who(pid) + ": has exited (a zombie not yet reaped by its parent)");
  t.starttime = st->starttime_ticks;

  const ExeLink link = read_exe_link(pid);
  if (link.error == ENOENT) {
    // Kernel threads have no exe; a process that just exited neither.
    return fail(who(pid) + ": has no executable (a kernel thread, or it has exited)");
  }
  if (link.error) return fail(errno_message(pid, link.error, "read /proc/" + std::to_string(pid) + "/exe"));

  // /proc/PID/exe is the file the process runs, even when its path was
  // deleted or replaced (package upgrade) and across mount namespaces:
  // opening it reads the right binary where /proc/PID/root + path would
  // find the new one.
  const std::string exe_link = "/proc/" + std::to_string(pid) + "/exe";
  struct stat sb;
  if (::stat(exe_link.c_str(), &sb) != 0) return fail(errno_message(pid, errno, "stat " + exe_link));
  const ExeKey key{sb.st_dev, sb.st_ino, sb.st_size,
                   static_cast<int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec};
  auto it = exes_.find(key);
  if (it == exes_.end()) {
    UniqueFd fd(::open(exe_link.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail(errno_message(pid, errno, "open " + exe_link));
    auto elf = symbols::ElfFile::open(std::move(fd));
    auto x = elf ? inspect_executable(*elf) : Result<PgExecutable>(elf.error());
    if (!x) return fail(who(pid, link.path) + ": cannot read its executable: " + x.error().message);
    x->path = link.path;
    x->pg_major = pg_major_from_path(link.path);
    it = exes_.emplace(key, std::make_shared<const PgExecutable>(std::move(*x))).first;
  }
  const auto& exe = it->second;

  t.exe = exe;
  t.pg_major = exe->pg_major ? exe->pg_major : pg_version_file_major(pid);
  if (auto why = unsupported_reason(*exe, t.pg_major)) return fail(who(pid, link.path) + ": " + *why);

  // The executable's own mapping: by device and inode, or by name (they can
  // differ on overlayfs, where maps may show the underlying file).
  const auto match = [&](const model::MapsLine& m) {
    if (m.offset != exe->load_offset) return false;
    const bool same_file =
        m.inode == sb.st_ino && m.dev_major == major(sb.st_dev) && m.dev_minor == minor(sb.st_dev);
    return same_file || m.path == link.path;
  };
  const auto mapping = find_mapping(pid, match);
  if (!mapping) return mapping.error();
  if (!*mapping)
    return fail(who(pid, link.path) + ": its executable is not mapped at file offset " + hex(exe->load_offset) +
                " in /proc/" + std::to_string(pid) + "/maps");
  const uint64_t bias = (*mapping)->start - exe->load_vaddr;
  t.ptr_addr = bias + *exe->wait_event_ptr;
  if (exe->be_entry_ptr) t.be_addr = bias + *exe->be_entry_ptr;
  return t;
}

Result<uint32_t> WaitEventReader::read_value(int pid, Target& t) {
  unsigned char ptr_bytes[8] = {};
  iovec local{ptr_bytes, t.exe->ptr_size};
  iovec remote{reinterpret_cast<void*>(t.ptr_addr), t.exe->ptr_size};
  ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n < 0)
    return fail(errno == EFAULT ? who(pid) + ": my_wait_event_info's address " + hex(t.ptr_addr) + " is not mapped"
                                : errno_message(pid, errno, "read its memory"));
  if (static_cast<size_t>(n) != t.exe->ptr_size)
    return fail(who(pid) + ": short read of my_wait_event_info at " + hex(t.ptr_addr));
  uint64_t target = 0;
  if (t.exe->ptr_size == 8) {
    std::memcpy(&target, ptr_bytes, 8);
  } else {
    uint32_t p32;
    std::memcpy(&p32, ptr_bytes, 4);
    target = p32;
  }
  if (target == 0 || target % alignof(uint32_t) != 0)
    return fail(who(pid) + ": my_wait_event_info holds " + hex(target) + ", not a pointer to a uint32");

  uint32_t info = 0;
  local = {&info, sizeof info};
  remote = {reinterpret_cast<void*>(target), sizeof info};
  n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n < 0)
    return fail(errno == EFAULT ? who(pid) + ": my_wait_event_info points at " + hex(target) + ", which is not mapped"
                                : errno_message(pid, errno, "read its memory"));
  if (n != sizeof info) return fail(who(pid) + ": short read of wait_event_info at " + hex(target));
  t.last_target = target;
  return info;
}

Result<uint32_t> WaitEventReader::read(int pid) {
  if (pid <= 0) return fail(who(pid) + ": not a process id");
  if (auto it = pids_.find(pid); it != pids_.end()) {
    auto v = read_value(pid, it->second);
    // Trust the value only if the process resolved was still there after the
    // read; otherwise the pid may be recycled: resolve it afresh.
    if (still_same(pid, it->second)) {
      if (!v) pids_.erase(it);  // re-resolve next time
      return v;
    }
    pids_.erase(it);
  }

  auto t = resolve(pid);
  if (!t) return t.error();
  auto v = read_value(pid, *t);
  if (!v) return v;
  if (!still_same(pid, *t)) return fail(who(pid) + ": exited while being read");
  pids_.insert_or_assign(pid, std::move(*t));
  return v;
}

int WaitEventReader::pg_major(int pid) const {
  const auto it = pids_.find(pid);
  return it == pids_.end() ? 0 : it->second.pg_major;
}

std::shared_ptr<const PgExecutable> WaitEventReader::executable(int pid) const {
  const auto it = pids_.find(pid);
  return it == pids_.end() ? nullptr : it->second.exe;
}

std::optional<uint64_t> WaitEventReader::pointer_address(int pid) const {
  const auto it = pids_.find(pid);
  if (it == pids_.end()) return std::nullopt;
  return it->second.ptr_addr;
}

std::optional<uint64_t> WaitEventReader::wait_event_target(int pid) const {
  const auto it = pids_.find(pid);
  if (it == pids_.end() || !it->second.last_target) return std::nullopt;
  return it->second.last_target;
}

std::optional<int64_t> WaitEventReader::statement_start(int pid) {
  const auto it = pids_.find(pid);
  if (it == pids_.end() || !it->second.be_addr || it->second.exe->ptr_size != 8) return std::nullopt;
  Target& t = it->second;
  if (!t.be_entry) {
    // NULL until the backend has its entry (pgstat_beinit), then fixed for
    // its life: read once.
    uint64_t entry = 0;
    if (!read_whole(pid, t.be_addr, &entry, sizeof entry)) return std::nullopt;
    if (entry == 0 || entry % alignof(int64_t) != 0) return std::nullopt;
    t.be_entry = entry;
  }
  // PgBackendStatus begins the same way in 13-18 (backend_status.h, pgstat.h
  // in 13): int st_changecount, int st_procpid, BackendType st_backendType,
  // then TimestampTz st_proc_start, st_xact_start_timestamp,
  // st_activity_start_timestamp at byte 32.
  struct Head {
    int32_t changecount, procpid, backend_type, pad;
    int64_t proc_start, xact_start, activity_start;
  } head{};
  static_assert(offsetof(Head, activity_start) == 32);
  if (!read_whole(pid, t.be_entry, &head, sizeof head) || head.procpid != pid || head.proc_start <= 0 ||
      head.activity_start < 0) {
    // Not this backend's entry (yet, or any more; or a pid namespace): ask again next time.
    t.be_entry = 0;
    return std::nullopt;
  }
  return head.activity_start;
}

void WaitEventReader::forget(int pid) { pids_.erase(pid); }

}  // namespace pgstall::capture
