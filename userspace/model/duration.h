#pragma once
// "30s", "500ms", "2m", "1h", "1.5s", or a bare number of seconds.
#include <optional>
#include <string_view>

#include "util/result.h"

namespace pgstall::model {

std::optional<double> parse_duration_s(std::string_view text);

// The longest duration any option takes: past a week a threshold or a
// --duration is a typo (or a unit mistaken), not a wish.
inline constexpr double kLongestDurationS = 7 * 24 * 3600.0;

// A duration typed for `flag` ("--lock-sleep"): above 0 (0 never means "no
// limit": leaving the option out does), at least min_s, at most max_s. The
// error names the flag, in one line.
Result<double> parse_duration_option(std::string_view flag, std::string_view text, double min_s = 0,
                                     double max_s = kLongestDurationS);

}  // namespace pgstall::model
