#include "detect/input_loss.h"

#include <algorithm>

namespace pgstall::detect {

size_t InputLoss::index_of(std::string_view probe) {
  auto it = std::find(names_.begin(), names_.end(), probe);
  if (it != names_.end()) return static_cast<size_t>(it - names_.begin());
  names_.emplace_back(probe);
  return names_.size() - 1;
}

uint64_t InputLoss::total_in(const Sample& s, std::string_view probe) const {
  auto it = std::find(names_.begin(), names_.end(), probe);
  if (it == names_.end()) return 0;
  const auto i = static_cast<size_t>(it - names_.begin());
  return i < s.totals.size() ? s.totals[i] : 0;
}

void InputLoss::observe(uint64_t now_ns, const model::RingDrops& totals) {
  Sample s{now_ns, {}};
  for (const auto& [probe, lost] : totals.by_probe) {
    const size_t i = index_of(probe);
    if (s.totals.size() <= i) s.totals.resize(i + 1, 0);
    s.totals[i] = lost;
  }
  const bool changed = samples_.empty() ? totals.total() > 0 : [&] {
    for (size_t i = 0; i < names_.size(); ++i)
      if (total_in(s, names_[i]) != total_in(samples_.back(), names_[i])) return true;
    return false;
  }();
  if (!changed) return;
  samples_.push_back(std::move(s));
  if (samples_.size() <= kMaxSamples) return;
  // Thin out the older half: keep its even-numbered samples.
  const size_t half = samples_.size() / 2;
  size_t kept = 0;
  for (size_t i = 0; i < half; i += 2) samples_[kept++] = std::move(samples_[i]);
  samples_.erase(samples_.begin() + static_cast<std::ptrdiff_t>(kept), samples_.begin() + static_cast<std::ptrdiff_t>(half));
}

std::map<std::string, uint64_t> InputLoss::lost_since(std::span<const std::string_view> inputs,
                                                      uint64_t since_ns) const {
  std::map<std::string, uint64_t> out;
  if (samples_.empty()) return out;
  // The totals as of since_ns: the last sample at or before it; none (the
  // kernel counts from 0 at load): zeros.
  auto after = std::upper_bound(samples_.begin(), samples_.end(), since_ns,
                                [](uint64_t t, const Sample& s) { return t < s.ts_ns; });
  const Sample* base = after == samples_.begin() ? nullptr : &*(after - 1);
  const Sample& last = samples_.back();
  for (std::string_view probe : inputs) {
    const uint64_t now = total_in(last, probe), then = base ? total_in(*base, probe) : 0;
    if (now > then) out[std::string(probe)] = now - then;
  }
  return out;
}

}  // namespace pgstall::detect
