#include "output/folded.h"

#include <fmt/format.h>

#include "flame/flame.h"

namespace pgstall::output {

void FoldedStacks::add(const nlohmann::json& entries) {
  for (const auto& e : entries) {
    std::string line = e.value("backend_type", std::string());
    for (const auto& f : e["frames"]) line += ";" + flame::fold_name(f.get<std::string>());
    const uint64_t weight = e["weight"].get<uint64_t>();
    if (e["kind"] == "offcpu") {
      ++offcpu_entries_;
      off_[line] += weight / 1000;  // µs
    } else {
      oncpu_samples_ += weight;
      on_[line] += weight;
    }
  }
}

Result<FoldedFiles> FoldedFiles::create(const std::string& path, bool oncpu) {
  FoldedFiles f;
  auto off = OutFile::create(path);
  if (!off) return off.error();
  f.offcpu = std::move(*off);
  if (oncpu) {
    auto on = OutFile::create(path + ".oncpu");
    if (!on) return on.error();
    f.oncpu = std::move(*on);
  }
  return f;
}

Result<void> FoldedStacks::write(FoldedFiles files) const {
  auto put = [](OutFile& f, const std::map<std::string, uint64_t>& m) -> Result<void> {
    std::string text;
    for (const auto& [line, w] : m)
      if (w) text += fmt::format("{} {}\n", line, w);
    if (auto r = f.write(text); !r) return r;
    return f.commit();
  };
  if (auto r = put(files.offcpu, off_); !r) return r;
  if (on_.empty()) return {};  // files.oncpu, if any, is removed
  if (!files.oncpu) {
    auto on = OutFile::create(files.offcpu.path() + ".oncpu");
    if (!on) return on.error();
    files.oncpu = std::move(*on);
  }
  return put(*files.oncpu, on_);
}

Result<void> FoldedStacks::write(const std::string& path) const {
  auto files = FoldedFiles::create(path, !on_.empty());
  if (!files) return files.error();
  return write(std::move(*files));
}

}  // namespace pgstall::output
