#include "model/wait_event.h"

#include <array>
#include <cstdio>
#include <utility>

namespace pgstall::model {
namespace {

const detail::WaitEventTables* tables_for(int pg_major) {
  for (std::size_t i = 0; i < detail::kWaitEventTablesCount; ++i)
    if (detail::kWaitEventTables[i].major == pg_major) return &detail::kWaitEventTables[i];
  return nullptr;
}

std::string hex(uint32_t v, int width = 0) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%0*x", width, v);
  return buf;
}

WaitEvent placeholder(std::string type, std::string name) { return WaitEvent{std::move(type), std::move(name), false}; }

// pgstat_get_wait_event_type() spellings.
std::optional<std::string_view> class_name(uint8_t cls, int pg_major) {
  switch (static_cast<WaitClass>(cls)) {
    case WaitClass::LWLock:
      return "LWLock";
    case WaitClass::Lock:
      return "Lock";
    case WaitClass::BufferPin:
      return "BufferPin";
    case WaitClass::Activity:
      return "Activity";
    case WaitClass::Client:
      return "Client";
    case WaitClass::Extension:
      return "Extension";
    case WaitClass::IPC:
      return "IPC";
    case WaitClass::Timeout:
      return "Timeout";
    case WaitClass::IO:
      return "IO";
    case WaitClass::InjectionPoint:
      if (pg_major >= 17) return "InjectionPoint";
      return std::nullopt;
  }
  return std::nullopt;
}

// Activity..IO: the server casts the whole wait_event_info to the class's
// enum, so a value with reserved bits set matches nothing.
WaitEvent from_enum(std::string_view type, std::span<const std::string_view> names, uint32_t info) {
  const uint32_t event = info & 0x00FFFFFF;
  if (event < names.size()) return WaitEvent{std::string(type), std::string(names[event])};
  return placeholder(std::string(type), "event " + hex(event));
}

WaitEvent lwlock(const detail::WaitEventTables& t, uint32_t info) {
  const uint32_t tranche = info & 0xFFFF;
  if (tranche >= t.lwlock.size()) return placeholder("LWLock", "extension tranche " + std::to_string(tranche));
  if (t.lwlock[tranche].empty()) return placeholder("LWLock", "unassigned tranche " + std::to_string(tranche));
  return WaitEvent{"LWLock", std::string(t.lwlock[tranche])};
}

WaitEvent lock(const detail::WaitEventTables& t, uint32_t info) {
  const uint32_t tag = info & 0xFFFF;
  if (tag < t.lock.size()) return WaitEvent{"Lock", std::string(t.lock[tag])};
  return placeholder("Lock", "event " + hex(tag));
}

// LOCKMODE 1..8 (src/include/storage/lockdefs.h), spelled as lock.c's
// lock_mode_names[] and so pg_locks.mode.
constexpr std::array<std::string_view, 8> kLockModes{
    "AccessShareLock", "RowShareLock",          "RowExclusiveLock", "ShareUpdateExclusiveLock",
    "ShareLock",       "ShareRowExclusiveLock", "ExclusiveLock",    "AccessExclusiveLock",
};

}  // namespace

std::string WaitEvent::text() const { return type + ":" + name; }

bool wait_events_supported(int pg_major) { return tables_for(pg_major) != nullptr; }

std::optional<WaitEvent> decode_wait_event(uint32_t info, int pg_major) {
  const detail::WaitEventTables* t = tables_for(pg_major);
  if (t == nullptr || info == 0) return std::nullopt;

  const auto cls = static_cast<uint8_t>(info >> 24);
  const auto type = class_name(cls, pg_major);
  if (!type) return placeholder("class " + hex(cls, 2), "event " + hex(info & 0x00FFFFFF));

  switch (static_cast<WaitClass>(cls)) {
    case WaitClass::LWLock:
      return lwlock(*t, info);
    case WaitClass::Lock:
      return lock(*t, info);
    case WaitClass::Activity:
      return from_enum(*type, t->activity, info);
    case WaitClass::Client:
      return from_enum(*type, t->client, info);
    case WaitClass::IPC:
      return from_enum(*type, t->ipc, info);
    case WaitClass::Timeout:
      return from_enum(*type, t->timeout, info);
    case WaitClass::IO:
      return from_enum(*type, t->io, info);
    case WaitClass::BufferPin:
      // 13-16 name every BufferPin wait "BufferPin"; 17 generates a
      // one-entry enum for it.
      if (pg_major < 17 || (info & 0x00FFFFFF) == 0) return WaitEvent{"BufferPin", "BufferPin"};
      return placeholder("BufferPin", "event " + hex(info & 0x00FFFFFF));
    case WaitClass::Extension:
      // 17 added WaitEventExtensionNew(): ids past 0 carry names that
      // exist only in the server's shared memory.
      if (pg_major < 17 || (info & 0x00FFFFFF) == 0) return WaitEvent{"Extension", "Extension"};
      return placeholder("Extension", "custom event " + std::to_string(info & 0x00FFFFFF));
    case WaitClass::InjectionPoint:
      return placeholder("InjectionPoint", "custom event " + std::to_string(info & 0x00FFFFFF));
  }
  return std::nullopt;  // unreachable: class_name() rejected everything else
}

std::span<const std::string_view> wait_event_table(WaitClass cls, int pg_major) {
  const detail::WaitEventTables* t = tables_for(pg_major);
  if (t == nullptr) return {};
  switch (cls) {
    case WaitClass::LWLock:
      return t->lwlock;
    case WaitClass::Lock:
      return t->lock;
    case WaitClass::Activity:
      return t->activity;
    case WaitClass::Client:
      return t->client;
    case WaitClass::IPC:
      return t->ipc;
    case WaitClass::Timeout:
      return t->timeout;
    case WaitClass::IO:
      return t->io;
    case WaitClass::BufferPin:
    case WaitClass::Extension:
    case WaitClass::InjectionPoint:
      return {};
  }
  return {};
}

std::optional<std::string_view> lock_mode_name(int mode) {
  if (mode < 1 || mode > 8) return std::nullopt;
  return kLockModes[static_cast<std::size_t>(mode - 1)];
}

std::optional<std::string_view> lock_tag_type_name(uint8_t tag, int pg_major) {
  const detail::WaitEventTables* t = tables_for(pg_major);
  if (t == nullptr || tag >= t->lock.size()) return std::nullopt;
  return t->lock[tag];
}

}  // namespace pgstall::model
