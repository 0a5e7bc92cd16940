#include "model/locktag.h"

#include <initializer_list>

#include <fmt/format.h>

#include "model/wait_event.h"

namespace pgstall::model {

std::string lock_mode_text(int mode) {
  if (auto name = lock_mode_name(mode)) return std::string(*name);
  return fmt::format("mode {}", mode);
}

uint32_t lock_conflicts(int mode) {
  // Bit m = LOCKMODE m: 1 AccessShare, 2 RowShare, 3 RowExclusive,
  // 4 ShareUpdateExclusive, 5 Share, 6 ShareRowExclusive, 7 Exclusive,
  // 8 AccessExclusive.
  constexpr auto bits = [](std::initializer_list<int> modes) {
    uint32_t m = 0;
    for (int x : modes) m |= 1u << x;
    return m;
  };
  switch (mode) {
    case 1: return bits({8});
    case 2: return bits({7, 8});
    case 3: return bits({5, 6, 7, 8});
    case 4: return bits({4, 5, 6, 7, 8});
    case 5: return bits({3, 4, 6, 7, 8});
    case 6: return bits({3, 4, 5, 6, 7, 8});
    case 7: return bits({2, 3, 4, 5, 6, 7, 8});
    case 8: return bits({1, 2, 3, 4, 5, 6, 7, 8});
  }
  return 0;
}

std::string lock_mask_text(uint32_t mask) {
  std::string out;
  for (int m = 1; m < 32; ++m)
    if (mask & (1u << m)) out += (out.empty() ? "" : ", ") + lock_mode_text(m);
  return out;
}

std::string describe_lock(const LockTag& t) {
  const auto& f = t.field;
  const std::string& ty = t.type;
  // Field meanings: the SET_LOCKTAG_* macros of src/include/storage/lock.h.
  if (ty == "relation" || ty == "extend") return fmt::format("{} {}/{}", ty, f[0], f[1]);
  if (ty == "frozenid") return fmt::format("frozenid {}", f[0]);
  if (ty == "page") return fmt::format("page {}/{} block {}", f[0], f[1], f[2]);
  if (ty == "tuple") return fmt::format("tuple {}/{} ({},{})", f[0], f[1], f[2], f[3]);
  if (ty == "transactionid") return fmt::format("transactionid {}", f[0]);
  if (ty == "virtualxid") return fmt::format("virtualxid {}/{}", f[0], f[1]);
  if (ty == "spectoken") return fmt::format("spectoken {} token {}", f[0], f[1]);
  if (ty == "object") return fmt::format("object {} class {} objid {} sub {}", f[0], f[1], f[2], f[3]);
  if (ty == "advisory") {
    // field4 = 1: one bigint key split high/low; 2: two int keys.
    if (f[3] == 1) {
      auto key = static_cast<int64_t>((static_cast<uint64_t>(f[1]) << 32) | f[2]);
      return fmt::format("advisory {} key {}", f[0], key);
    }
    return fmt::format("advisory {} keys {},{}", f[0], static_cast<int32_t>(f[1]), static_cast<int32_t>(f[2]));
  }
  return fmt::format("{} {} {} {} {}", ty.empty() ? fmt::format("locktag type {}", t.type_id) : ty, f[0], f[1],
                     f[2], f[3]);
}

nlohmann::json lock_json(const LockTag& t) {
  nlohmann::json j;
  j["type"] = t.type.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.type);
  j["type_id"] = t.type_id;
  j["mode"] = lock_mode_text(t.mode);
  j["fields"] = t.field;
  j["text"] = describe_lock(t) + " " + lock_mode_text(t.mode);
  const auto& f = t.field;
  if (t.type == "relation" || t.type == "extend" || t.type == "page" || t.type == "tuple") {
    j["database"] = f[0];
    j["relation"] = f[1];
  } else if (t.type == "transactionid") {
    j["xid"] = f[0];
  } else if (t.type == "advisory") {
    j["database"] = f[0];
  }
  return j;
}

}  // namespace pgstall::model
