#pragma once
// Checks shared by the commands' option definitions.
#include <algorithm>
#include <string>

#include <CLI/CLI.hpp>

namespace pgstall::cli {

// CLI11 reads an integer as strtoll(text, .., 0) does: "010" is 8, "0x10" 16,
// " +5" 5. A pid or a count is typed in decimal: this transform refuses
// anything but digits ("'0x10' is not <what>") and drops leading zeros, so
// CLI11 reads the number that was typed.
inline CLI::Validator decimal(std::string what) {
  return CLI::Validator(
      [what](std::string& text) -> std::string {
        if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
          return "'" + text + "' is not " + what;
        text.erase(0, std::min(text.find_first_not_of('0'), text.size() - 1));
        return "";
      },
      "");
}

// A value given empty ("--duration ''") is a mistake, not the option left
// out (an empty --duration was read as "until Ctrl-C", an empty threshold as
// its default).
inline std::string not_empty(const std::string& value) {
  return value.empty() ? "an empty value (leave the option out instead)" : "";
}
// The same for an option that cannot be left out.
inline std::string not_empty_required(const std::string& value) { return value.empty() ? "an empty value" : ""; }

// Every option of app that takes a value refuses an empty one.
inline void refuse_empty_values(CLI::App& app) {
  for (CLI::Option* opt : app.get_options())
    if (opt->get_type_size() > 0) opt->check(opt->get_required() ? not_empty_required : not_empty);
}

}  // namespace pgstall::cli
