#include "model/bytesize.h"

#include <algorithm>
#include <string>

#include <fmt/format.h>

namespace pgstall::model {
namespace {

// 4096 -> "4KiB", 4194304 -> "4MiB": how a bound is said back.
std::string bytes_text(uint64_t n) {
  if (n >= (1ull << 20) && n % (1ull << 20) == 0) return fmt::format("{}MiB", n >> 20);
  if (n >= 1024 && n % 1024 == 0) return fmt::format("{}KiB", n >> 10);
  return fmt::format("{} bytes", n);
}

}  // namespace

Result<uint64_t> parse_bytes(std::string_view text) {
  size_t i = 0;
  uint64_t v = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const uint64_t d = static_cast<uint64_t>(text[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return fail(fmt::format("'{}' is too large", text));
    v = v * 10 + d;
  }
  if (i == 0) return fail(fmt::format("'{}' is not a size (try 4KiB, 64k, 4MiB)", text));
  const std::string_view unit = text.substr(i);
  int shift = 0;
  if (unit.empty() || unit == "B") shift = 0;
  else if (unit == "k" || unit == "K" || unit == "KiB") shift = 10;
  else if (unit == "m" || unit == "M" || unit == "MiB") shift = 20;
  else if (unit == "g" || unit == "G" || unit == "GiB") shift = 30;
  else return fail(fmt::format("'{}' is not a size (try 4KiB, 64k, 4MiB)", text));
  if (shift && v > (UINT64_MAX >> shift)) return fail(fmt::format("'{}' is too large", text));
  return v << shift;
}

Result<uint64_t> parse_ring_size(std::string_view flag, std::string_view text, uint64_t page_bytes) {
  auto v = parse_bytes(text);
  if (!v) return fail(fmt::format("{}: {}", flag, v.error().message));
  const uint64_t least = std::max(kRingMinBytes, page_bytes);
  if (*v < least)
    return fail(fmt::format("{}: '{}' is smaller than {}, the least it takes", flag, text, bytes_text(least)));
  if (*v > kRingMaxBytes)
    return fail(fmt::format("{}: '{}' is larger than {}, the most it takes", flag, text, bytes_text(kRingMaxBytes)));
  if ((*v & (*v - 1)) != 0)
    return fail(fmt::format("{}: '{}' is not a power of two (4KiB, 64KiB, 4MiB…)", flag, text));
  return *v;
}

}  // namespace pgstall::model
