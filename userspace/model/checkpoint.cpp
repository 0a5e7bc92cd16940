#include "model/checkpoint.h"

#include <fmt/format.h>

namespace pgstall::model {

std::string checkpoint_flags_text(uint32_t flags) {
  static constexpr struct {
    uint32_t bit;
    const char* word;
  } kFlags[] = {
      {0x0001, "shutdown"}, {0x0002, "end-of-recovery"}, {0x0004, "immediate"}, {0x0008, "force"},
      {0x0010, "flush-all"}, {0x0020, "wait"},           {0x0040, "requested"}, {0x0080, "wal"},
      {0x0100, "time"},
  };
  std::string out;
  uint32_t left = flags;
  for (const auto& f : kFlags) {
    if (!(flags & f.bit)) continue;
    out += (out.empty() ? "" : " ") + std::string(f.word);
    left &= ~f.bit;
  }
  if (left) out += (out.empty() ? "" : " ") + fmt::format("{:#x}", left);
  return out;
}

std::optional<std::string> checkpoint_phase(const CheckpointTimes& t) {
  if (!t.start_ns) return std::nullopt;
  if (t.done_ns) return "done";
  if (t.buffers_done_ns) return "finishing";
  if (t.sync_ns) return "syncing files";
  if (t.write_ns) return "writing buffers";
  return "starting";
}

std::string checkpoint_durations(const CheckpointTimes& t) {
  auto s = [](uint64_t a, uint64_t b) { return a && b > a ? static_cast<double>(b - a) / 1e9 : 0.0; };
  if (!t.start_ns) return "started before pgstall";
  std::string out = fmt::format("{:.1f}s", s(t.start_ns, t.done_ns));
  if (t.write_ns && t.sync_ns && t.buffers_done_ns)
    out += fmt::format(": start {:.1f}s, write {:.1f}s, sync {:.1f}s, rest {:.1f}s", s(t.start_ns, t.write_ns),
                       s(t.write_ns, t.sync_ns), s(t.sync_ns, t.buffers_done_ns), s(t.buffers_done_ns, t.done_ns));
  return out;
}

}  // namespace pgstall::model
