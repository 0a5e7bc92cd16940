#pragma once
// The one table of detector kinds, in the order they are judged and listed.
#include <span>
#include <string_view>

#include "detect/kind.h"

namespace pgstall::detect {

// Every kind, registry order.
std::span<const KindSpec* const> kinds();
// The kind of that name; nullptr when none is registered.
const KindSpec* find_kind(std::string_view name);
// Whether stalls of `kind` want an enrichment (false for an unknown kind).
bool wants(std::string_view kind, EnrichFlags what);
// "lock-sleep, lwlock-wait, ..." for help texts.
std::string kind_names();

// Kinds referred to by name outside their own file.
inline constexpr std::string_view kLockSleep = "lock-sleep";

}  // namespace pgstall::detect
