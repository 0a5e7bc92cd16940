#pragma once
// USDT probe sites of an executable, from its SystemTap notes (.note.stapsdt),
// read with elfutils' libelf.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace pgstall::symbols {

// probe name -> number of sites, for one provider ("postgresql"). Empty when
// the file has no such notes or cannot be read.
std::map<std::string, int> usdt_sites(const std::string& path, const std::string& provider);

// File offsets of every site of one probe, for a plain uprobe at the probe's
// nop (no arguments read): its pc, corrected by where .stapsdt.base really
// is (prelink), mapped through the PT_LOAD that holds it. Empty when absent.
std::vector<uint64_t> usdt_file_offsets(const std::string& path, const std::string& provider,
                                        const std::string& probe);

}  // namespace pgstall::symbols
