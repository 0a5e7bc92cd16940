#include "model/snapshot.h"

namespace pgstall::model {

std::optional<WaitEvent> wait_event_of(const Snapshot& s) {
  if (!s.wait_event_info || *s.wait_event_info == 0) return std::nullopt;
  return decode_wait_event(*s.wait_event_info, s.pg_major);
}

std::string_view file_class_name(FileClass c) {
  switch (c) {
    case FileClass::Wal: return "WAL";
    case FileClass::Relation: return "relation";
    case FileClass::Temp: return "temp";
    case FileClass::Other: return "other";
    case FileClass::Unknown: break;
  }
  return "unknown";
}

LockTag lock_tag_of(const PgWait& w, int pg_major) {
  LockTag t;
  t.field = w.lock_field;
  t.type_id = w.lock_type;
  t.type = std::string(lock_tag_type_name(static_cast<uint8_t>(w.lock_type), pg_major).value_or(""));
  t.mode = w.lock_mode;
  return t;
}

}  // namespace pgstall::model
