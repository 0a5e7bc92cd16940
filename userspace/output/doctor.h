#pragma once
// pgstall doctor's report as text (one 80-column screen for one cluster:
// one line per check, its fix under it, each fix said once) and as one JSON
// object.
#include <string>

#include <nlohmann/json.hpp>

#include "model/doctor.h"

namespace pgstall::output {

std::string doctor_text(const model::doctor::Report& r, size_t width = 80);
nlohmann::json doctor_json(const model::doctor::Report& r);

}  // namespace pgstall::output
