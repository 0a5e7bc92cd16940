#include "util/outfile.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace pgstall {
namespace {

constexpr int kCreateFlags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;

Error cannot(const std::string& path, const std::string& why) {
  return fail(fmt::format("cannot create {}: {}", path, why));
}

// Why an existing target is refused ("" when it is a regular file that may
// be replaced, or absent).
std::string problem_with(int dir, const std::string& base, OutFile::Existing existing) {
  struct stat st {};
  if (fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? "" : strerror(errno);
  if (S_ISLNK(st.st_mode)) return "it is a symbolic link (not followed: give the real path)";
  if (S_ISDIR(st.st_mode)) return "it is a directory (give a file name)";
  if (!S_ISREG(st.st_mode)) return "it exists and is not a regular file (a fifo, socket or device)";
  if (existing == OutFile::Existing::Refuse)
    return "it already exists; not overwritten (move it away or choose another name)";
  return "";
}

std::string random_suffix() {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  unsigned char bytes[6] = {};
  if (getrandom(bytes, sizeof bytes, 0) != static_cast<ssize_t>(sizeof bytes))
    for (auto& b : bytes) b = static_cast<unsigned char>(rand());  // O_EXCL still guards; only the odds change
  std::string s;
  for (unsigned char b : bytes) s.push_back(kChars[b % (sizeof kChars - 1)]);
  return s;
}

}  // namespace

Result<OutFile> OutFile::create(const std::string& path, Where where, Existing existing) {
  if (path.empty()) return fail("no file name given (an empty path)");
  const size_t slash = path.rfind('/');
  OutFile f;
  f.path_ = path;
  f.dir_name_ = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  f.base_ = slash == std::string::npos ? path : path.substr(slash + 1);
  if (f.base_.empty() || f.base_ == "." || f.base_ == "..") return cannot(path, "it names a directory, not a file");
  f.existing_ = where == Where::InPlace ? Existing::Refuse : existing;

  // Everything below is relative to this one directory: a directory renamed
  // meanwhile cannot send the file elsewhere.
  f.dir_.reset(::open(f.dir_name_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!f.dir_) return cannot(path, fmt::format("directory {}: {}", f.dir_name_, strerror(errno)));
  if (auto why = problem_with(f.dir_.get(), f.base_, f.existing_); !why.empty()) return cannot(path, why);

  if (where == Where::InPlace) {
    f.fd_.reset(::openat(f.dir_.get(), f.base_.c_str(), kCreateFlags, 0600));
    if (!f.fd_) {
      const int err = errno;
      auto why = problem_with(f.dir_.get(), f.base_, Existing::Refuse);  // it appeared since the look above
      return cannot(path, why.empty() ? strerror(err) : why);
    }
  } else {
    for (int attempt = 0; attempt < 100 && !f.fd_; ++attempt) {
      f.temp_ = "." + f.base_ + "." + random_suffix();
      f.fd_.reset(::openat(f.dir_.get(), f.temp_.c_str(), kCreateFlags, 0600));
      if (!f.fd_ && errno != EEXIST) break;
    }
    if (!f.fd_) {
      f.temp_.clear();
      return cannot(path, strerror(errno));
    }
  }
  struct stat st {};
  if (fstat(f.fd_.get(), &st) == 0) {
    f.dev_ = st.st_dev;
    f.ino_ = st.st_ino;
  }
  return f;
}

OutFile::OutFile(OutFile&& o) noexcept { *this = std::move(o); }

OutFile& OutFile::operator=(OutFile&& o) noexcept {
  if (this == &o) return *this;
  abort();
  dir_ = std::move(o.dir_);
  fd_ = std::move(o.fd_);
  path_ = std::move(o.path_);
  dir_name_ = std::move(o.dir_name_);
  base_ = std::move(o.base_);
  temp_ = std::move(o.temp_);
  existing_ = o.existing_;
  dev_ = o.dev_;
  ino_ = o.ino_;
  o.temp_.clear();
  return *this;
}

std::string OutFile::writing_path() const {
  if (temp_.empty()) return path_;
  return dir_name_ == "/" ? "/" + temp_ : dir_name_ + "/" + temp_;
}

Result<void> OutFile::write(std::string_view bytes) {
  if (!fd_) return fail(fmt::format("cannot write {}: not open", path_));
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_.get(), bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(fmt::format("cannot write {}: {}", writing_path(), strerror(n < 0 ? errno : EIO)));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Result<void> OutFile::commit() {
  if (!fd_) return fail(fmt::format("cannot write {}: not open", path_));
  // Durable before the name says it is whole; a failure here means the data
  // may not be, so the temporary goes (abort) and the error says why.
  if (fsync(fd_.get()) != 0 || ::close(fd_.release()) != 0) {
    auto err = fail(fmt::format("cannot write {}: {}", writing_path(), strerror(errno)));
    abort();
    return err;
  }
  if (temp_.empty()) return {};
  const std::string temp = std::exchange(temp_, "");
  int rc = 0;
  if (existing_ == Existing::Replace) {
    rc = renameat(dir_.get(), temp.c_str(), dir_.get(), base_.c_str());
  } else {
    rc = renameat2(dir_.get(), temp.c_str(), dir_.get(), base_.c_str(), RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {  // a filesystem without RENAME_NOREPLACE
      rc = linkat(dir_.get(), temp.c_str(), dir_.get(), base_.c_str(), 0);
      if (rc == 0) unlinkat(dir_.get(), temp.c_str(), 0);
    }
  }
  if (rc != 0) {
    const std::string kept = dir_name_ == "/" ? "/" + temp : dir_name_ + "/" + temp;
    return fail(fmt::format("cannot rename {} to {}: {} (the data is in {})", kept, path_,
                            errno == EEXIST ? "it appeared meanwhile; not overwritten" : strerror(errno), kept));
  }
  // The rename itself made durable, when the directory can be opened for it.
  if (UniqueFd d(::openat(dir_.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)); d) fsync(d.get());
  return {};
}

void OutFile::abort() {
  if (!fd_ && temp_.empty()) return;
  fd_.reset();
  const std::string name = temp_.empty() ? base_ : std::exchange(temp_, "");
  // Only the file create() made: never one put there in its place.
  struct stat st {};
  if (dir_ && fstatat(dir_.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_dev == dev_ &&
      st.st_ino == ino_)
    unlinkat(dir_.get(), name.c_str(), 0);
}

}  // namespace pgstall
