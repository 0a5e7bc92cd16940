#include "model/duration.h"

#include <cmath>
#include <string>

namespace pgstall::model {

std::optional<double> parse_duration_s(std::string_view text) {
  std::string s(text);
  if (s.empty()) return std::nullopt;
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    return std::nullopt;
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
  return v * mult;
}

}  // namespace pgstall::model
