#pragma once
// Output files created safely (STYLE practice 15): pgstall runs as root, often
// in a world-writable directory, so nothing another user placed there is
// followed, truncated or written into.
//
//   - The file is always new: O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600,
//     owned by whoever runs pgstall.
//   - The target is looked at without following it: a symbolic link, a
//     directory, a fifo or any other non-regular file is refused.
//   - Temporary (the default): bytes go to a new ".NAME.XXXXXX" beside the
//     target and commit() renames it onto the target, so the target only
//     ever holds a whole file. abort(), or destruction before commit(),
//     unlinks the temporary.
//   - InPlace: the target itself is created, O_EXCL. For a file written
//     while running (a recording), so that a killed writer leaves its data
//     under the name the operator gave. abort() (or destruction before
//     commit()) unlinks it; a writer that has put data in commits instead.
//
//   auto out = OutFile::create(path);   // before any work: a bad path costs nothing
//   if (!out) return out.error();
//   ...
//   if (auto w = out->write(text); !w) return w;
//   return out->commit();
#include <sys/types.h>

#include <string>
#include <string_view>

#include "util/fd.h"
#include "util/result.h"

namespace pgstall {

class OutFile {
 public:
  enum class Where { Temporary, InPlace };
  // What to do with a regular file already at the target. Replace is for
  // what can be made again (a flame graph from its recording), and only
  // with a temporary: the rename swaps it in atomically. InPlace always
  // refuses.
  enum class Existing { Refuse, Replace };

  // Errors read "cannot create PATH: why", one line, for the operator.
  static Result<OutFile> create(const std::string& path, Where where = Where::Temporary,
                                Existing existing = Existing::Refuse);

  OutFile() = default;
  ~OutFile() { abort(); }
  OutFile(OutFile&& o) noexcept;
  OutFile& operator=(OutFile&& o) noexcept;
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  bool is_open() const { return static_cast<bool>(fd_); }
  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Where the bytes are until commit(): the temporary, or the target.
  std::string writing_path() const;

  // All of it (EINTR and short writes retried).
  Result<void> write(std::string_view bytes);
  // fsync, close, and (Temporary) rename onto the target; with Refuse, never
  // over a file that appeared meanwhile. If the data is whole on disk but
  // the rename fails, the temporary is kept and the error names it.
  Result<void> commit();
  // Close and unlink what create() made (if it is still ours); a no-op
  // after commit().
  void abort();

 private:
  UniqueFd dir_, fd_;
  std::string path_, dir_name_, base_, temp_;  // temp_ empty: InPlace
  Existing existing_ = Existing::Refuse;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
};

}  // namespace pgstall
