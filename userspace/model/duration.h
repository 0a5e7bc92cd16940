#pragma once
// "30s", "500ms", "2m", "1h", "1.5s", or a bare number of seconds.
#include <optional>
#include <string_view>

namespace pgstall::model {

std::optional<double> parse_duration_s(std::string_view text);

}  // namespace pgstall::model
