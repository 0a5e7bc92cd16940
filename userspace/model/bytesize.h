#pragma once
// "4KiB", "64k", "4MiB", "1M", or a bare number of bytes: the size of the
// BPF ring buffer (--ring-size).
#include <cstdint>
#include <string_view>

#include "util/result.h"

namespace pgstall::model {

// The ring's bounds. The kernel wants a power of two and a multiple of the
// page size; below 4 KiB nothing fits, above 256 MiB it is memory the kernel
// locks for a buffer drained ten times a second.
inline constexpr uint64_t kRingMinBytes = 4096;
inline constexpr uint64_t kRingMaxBytes = 256ull << 20;
inline constexpr uint64_t kRingDefaultBytes = 4ull << 20;

// Binary units (k, K, KiB = 1024; m, M, MiB; g, G, GiB); refuses a
// fraction, a sign, an overflow and anything after the unit.
Result<uint64_t> parse_bytes(std::string_view text);

// A ring size typed for `flag`: a power of two, at least max(kRingMinBytes,
// page_bytes), at most kRingMaxBytes. The error names the flag, in one line.
Result<uint64_t> parse_ring_size(std::string_view flag, std::string_view text, uint64_t page_bytes);

}  // namespace pgstall::model
