#include "model/duration.h"

#include <cmath>
#include <string>

#include <fmt/format.h>

namespace pgstall::model {

std::optional<double> parse_duration_s(std::string_view text) {
  std::string s(text);
  if (s.empty()) return std::nullopt;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return std::nullopt;  // not a number, or out of a double's range (1e400)
  }
  std::string unit = s.substr(used);
  double mult = 0;
  if (unit.empty() || unit == "s") mult = 1;
  else if (unit == "ms") mult = 1e-3;
  else if (unit == "us") mult = 1e-6;
  else if (unit == "m" || unit == "min") mult = 60;
  else if (unit == "h") mult = 3600;
  else return std::nullopt;
  if (!std::isfinite(v) || v < 0) return std::nullopt;
  // Finite as typed is not enough: 1e306h is no number of seconds.
  if (!std::isfinite(v * mult)) return std::nullopt;
  return v * mult;
}

namespace {

// 0.01 -> "10ms", 604800 -> "168h": how a bound is said back.
std::string duration_text(double s) {
  if (s < 1) return fmt::format("{:g}ms", s * 1000);
  if (s >= 3600 && std::fmod(s, 3600) == 0) return fmt::format("{:g}h", s / 3600);
  return fmt::format("{:g}s", s);
}

}  // namespace

Result<double> parse_duration_option(std::string_view flag, std::string_view text, double min_s, double max_s) {
  auto v = parse_duration_s(text);
  if (!v) return fail(fmt::format("{}: '{}' is not a duration (try 5s, 500ms, 2m)", flag, text));
  if (*v <= 0) return fail(fmt::format("{}: '{}' is not above 0", flag, text));
  if (*v < min_s) return fail(fmt::format("{}: '{}' is shorter than {}, the least it takes", flag, text,
                                          duration_text(min_s)));
  if (*v > max_s) return fail(fmt::format("{}: '{}' is longer than {}, the most it takes", flag, text,
                                          duration_text(max_s)));
  return *v;
}

}  // namespace pgstall::model
