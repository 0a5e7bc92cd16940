#pragma once
// A heavyweight lock's tag as Postgres' lock__wait__start probe hands it over
// (four fields, a type, a mode), in the words pg_locks uses.
#include <array>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace pgstall::model {

struct LockTag {
  std::array<uint32_t, 4> field{};
  std::string type;  // "relation", "transactionid", ... ("" when the type number is unknown)
  uint32_t type_id = 0;
  int mode = 0;      // LOCKMODE
};

// "AccessShareLock" .. "AccessExclusiveLock"; "mode N" when out of range.
std::string lock_mode_text(int mode);
// The modes that conflict with `mode`, as a mask with bit m for LOCKMODE m
// (the standard table of src/backend/storage/lmgr/lock.c, used by both the
// default and the advisory lock method); 0 for a mode out of range.
uint32_t lock_conflicts(int mode);
// The modes set in a hold mask, by name: "RowExclusiveLock, ExclusiveLock".
std::string lock_mask_text(uint32_t mask);
// "transactionid 725", "relation 5/16384", "tuple 5/16384 (0,1)",
// "advisory 5 key 4242" — what the fields mean depends on the type.
std::string describe_lock(const LockTag& t);
// {"type", "mode", "text", "fields", plus the fields by meaning: database,
// relation, xid, key ...}
nlohmann::json lock_json(const LockTag& t);

}  // namespace pgstall::model
