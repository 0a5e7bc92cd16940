#include "output/folded.h"

#include <fstream>

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

Result<void> FoldedStacks::write(const std::string& path) const {
  auto put = [](const std::string& p, const std::map<std::string, uint64_t>& m) -> Result<void> {
    std::ofstream f(p);
    for (const auto& [line, w] : m)
      if (w) f << line << ' ' << w << '\n';
    f.close();
    if (!f) return fail(fmt::format("cannot write {}", p));
    return {};
  };
  if (auto r = put(path, off_); !r) return r;
  if (!on_.empty()) return put(path + ".oncpu", on_);
  return {};
}

}  // namespace pgstall::output
