#include "detect/registry.h"

#include <array>

namespace pgstall::detect {

// Each kind's file defines its spec. A new kind: its file, one line here.
const KindSpec& lock_sleep_kind();
const KindSpec& lwlock_wait_kind();
const KindSpec& io_wait_kind();
const KindSpec& hot_loop_kind();
const KindSpec& cpu_bound_kind();
const KindSpec& delay_loop_kind();
const KindSpec& wait_kind();
const KindSpec& io_slow_kind();

std::span<const KindSpec* const> kinds() {
  static const std::array<const KindSpec*, 8> table = {
      &lock_sleep_kind(), &lwlock_wait_kind(), &io_wait_kind(), &hot_loop_kind(),
      &cpu_bound_kind(),  &delay_loop_kind(),  &wait_kind(),    &io_slow_kind(),
  };
  return table;
}

const KindSpec* find_kind(std::string_view name) {
  for (const KindSpec* k : kinds())
    if (k->name == name) return k;
  return nullptr;
}

bool wants(std::string_view kind, EnrichFlags what) {
  const KindSpec* k = find_kind(kind);
  return k && (k->enrich & what);
}

std::string kind_names() {
  std::string out;
  for (const KindSpec* k : kinds()) out += (out.empty() ? "" : ", ") + std::string(k->name);
  return out;
}

}  // namespace pgstall::detect
