#pragma once
// USDT probe sites of an executable, from its SystemTap notes (.note.stapsdt),
// read with elfutils' libelf.
#include <map>
#include <string>

namespace pgstall::capture {

// probe name -> number of sites, for one provider ("postgresql"). Empty when
// the file has no such notes or cannot be read.
std::map<std::string, int> usdt_sites(const std::string& path, const std::string& provider);

}  // namespace pgstall::capture
