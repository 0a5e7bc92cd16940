#pragma once
// Flame graphs from weighted stacks: folded text (one "a;b;c weight" line per
// stack, the format flamegraph.pl and speedscope import), a self-contained
// interactive SVG, and speedscope's JSON file format. Pure code: stacks in,
// text out.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/result.h"

namespace pgstall::flame {

// One stack and what it weighs (nanoseconds off CPU, or samples). Frames run
// from the root (outermost caller) to the leaf. `cls` colours it: the wait
// class for off-CPU ("Lock", "LWLock", "IO", "Client", "Timeout", "Other"),
// "cpu" for on-CPU samples.
struct Stack {
  std::vector<std::string> frames;
  uint64_t weight = 0;
  std::string cls;
};

// A frame name as folded text can carry it: ';' separates frames and the
// line ends in " weight", so ';' becomes ':' and control characters become
// spaces.
std::string fold_name(std::string_view name);

// Equal stacks (same frames, same class) summed; sorted by frames.
std::vector<Stack> merge(std::vector<Stack> stacks);

// "root;caller;leaf 1234\n" per stack, merged and sorted; zero weights dropped.
std::string to_folded(const std::vector<Stack>& stacks);

// Reads folded text back. A line that does not end in " <unsigned integer>"
// is an error naming the 1-based line number and why.
Result<std::vector<Stack>> parse_folded(std::string_view text);

struct SvgOptions {
  std::string title = "Flame graph";
  std::string subtitle;            // e.g. "off-CPU, pid 4242, 60 s"
  std::string unit = "ns";         // "ns": weights are nanoseconds (shown as ms/s); "samples"
  int width = 1200;
  int frame_height = 16;
};

// A self-contained SVG (no external script, style or font): frames as
// rectangles, widths proportional to weight, the root at the bottom; hover
// shows name, weight and share; click zooms into a frame; "Search" highlights
// frames matching a regular expression and shows their share; colours follow
// each frame's dominant class. Valid XML (names escaped).
std::string to_svg(const std::vector<Stack>& stacks, const SvgOptions& opt);

// speedscope's file format (https://www.speedscope.app/file-format-schema.json):
// one "sampled" profile, shared frames, weights in the given unit
// ("nanoseconds" or "none" for sample counts).
nlohmann::json to_speedscope(const std::vector<Stack>& stacks, const std::string& name, const std::string& unit);

// Layout used by the SVG writer, exposed for tests: one box per frame of the
// merged call tree. x and width in weight units from the left edge; depth 0
// is the root row.
struct Box {
  std::string name;
  std::string cls;     // the class holding most of this frame's weight
  uint64_t x = 0, width = 0;
  int depth = 0;
};
std::vector<Box> layout(const std::vector<Stack>& stacks);

}  // namespace pgstall::flame
