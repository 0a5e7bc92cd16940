// Flame graphs: folding and merging, the folded reader, the layout, the SVG
// (parsed by libxml2: well-formed, widths proportional to weights, the root
// at the bottom) and speedscope's file format.
#include <gtest/gtest.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <cmath>
#include <map>
#include <set>

#include "flame/flame.h"

using namespace pgstall::flame;

namespace {

std::vector<Stack> sample() {
  return {
      {{"PostgresMain", "exec_simple_query", "ProcSleep", "WaitLatch", "epoll_wait"}, 900, "Lock"},
      {{"PostgresMain", "exec_simple_query", "ExecScan"}, 60, "cpu"},
      {{"PostgresMain", "ReadCommand", "secure_read", "epoll_wait"}, 40, "Client"},
      {{"PostgresMain", "exec_simple_query", "ProcSleep", "WaitLatch", "epoll_wait"}, 100, "Lock"},
  };
}

struct Rect {
  std::string name;
  double x, y, w;
  long weight;
};

// The frames of an SVG, as a browser would find them: every <g class="f">
// with its <rect> and data-* attributes.
std::vector<Rect> rects_of(const std::string& svg, std::string& err) {
  std::vector<Rect> out;
  xmlDocPtr doc = xmlReadMemory(svg.data(), static_cast<int>(svg.size()), "flame.svg", nullptr,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (!doc) {
    const xmlError* e = xmlGetLastError();
    err = e && e->message ? e->message : "not well-formed";
    return out;
  }
  auto attr = [](xmlNodePtr n, const char* a) {
    xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(a));
    std::string s = v ? reinterpret_cast<const char*>(v) : "";
    xmlFree(v);
    return s;
  };
  for (xmlNodePtr g = xmlDocGetRootElement(doc)->children; g; g = g->next) {
    if (g->type != XML_ELEMENT_NODE || std::string(reinterpret_cast<const char*>(g->name)) != "g") continue;
    if (attr(g, "class") != "f") continue;
    for (xmlNodePtr r = g->children; r; r = r->next) {
      if (r->type == XML_ELEMENT_NODE && std::string(reinterpret_cast<const char*>(r->name)) == "rect")
        out.push_back({attr(g, "data-n"), std::stod(attr(r, "x")), std::stod(attr(r, "y")),
                       std::stod(attr(r, "width")), std::stol(attr(g, "data-w"))});
    }
  }
  xmlFreeDoc(doc);
  return out;
}

}  // namespace

TEST(Flame, FoldNameKeepsTheFormatIntact) {
  EXPECT_EQ(fold_name("a;b\nc"), "a:b c");
  EXPECT_EQ(fold_name("postgres+0x1a2b"), "postgres+0x1a2b");
}

TEST(Flame, FoldedMergesSortsAndDropsZero) {
  auto s = sample();
  s.push_back({{"never"}, 0, "cpu"});
  EXPECT_EQ(to_folded(s),
            "PostgresMain;ReadCommand;secure_read;epoll_wait 40\n"
            "PostgresMain;exec_simple_query;ExecScan 60\n"
            "PostgresMain;exec_simple_query;ProcSleep;WaitLatch;epoll_wait 1000\n");
  auto m = merge(sample());
  ASSERT_EQ(m.size(), 3u);
  uint64_t sum = 0;
  for (const auto& x : m) sum += x.weight;
  EXPECT_EQ(sum, 1100u);
}

TEST(Flame, FoldedRoundTripsAndNamesBadLines) {
  auto back = parse_folded(to_folded(sample()));
  ASSERT_TRUE(back) << back.error().message;
  ASSERT_EQ(back->size(), 3u);
  EXPECT_EQ((*back)[2].frames.size(), 5u);
  EXPECT_EQ((*back)[2].frames[2], "ProcSleep");
  EXPECT_EQ((*back)[2].weight, 1000u);
  EXPECT_EQ(to_folded(*back), to_folded(sample()));
  auto bad = parse_folded("a;b 3\n\na;c x3\n");
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("line 3:", 0), 0u) << bad.error().message;
  EXPECT_FALSE(parse_folded("nospace\n"));
  EXPECT_FALSE(parse_folded("a 99999999999999999999999\n"));  // overflows u64
  auto spaced = parse_folded("a b c 7\r\n");
  EXPECT_TRUE(spaced) << spaced.error().message;  // spaces in names are fine
}

TEST(Flame, LayoutNestsChildrenInsideParents) {
  auto boxes = layout(sample());
  ASSERT_FALSE(boxes.empty());
  EXPECT_EQ(boxes[0].name, "all");
  EXPECT_EQ(boxes[0].width, 1100u);
  std::map<std::string, Box> by;
  for (const auto& b : boxes) by[b.name + "@" + std::to_string(b.depth)] = b;
  const auto& ps = by.at("ProcSleep@3");
  EXPECT_EQ(ps.width, 1000u);
  EXPECT_EQ(ps.cls, "Lock");
  const auto& esq = by.at("exec_simple_query@2");
  EXPECT_EQ(esq.width, 1060u);
  EXPECT_EQ(esq.cls, "Lock");  // most of its weight
  EXPECT_GE(ps.x, esq.x);
  EXPECT_LE(ps.x + ps.width, esq.x + esq.width);
  // Siblings do not overlap.
  const auto& scan = by.at("ExecScan@3");
  EXPECT_TRUE(scan.x + scan.width <= ps.x || ps.x + ps.width <= scan.x);
}

TEST(Flame, SvgIsWellFormedWithProportionalWidthsRootAtTheBottom) {
  auto stacks = sample();
  stacks.push_back({{"PostgresMain", "odd <name> & \"quotes\""}, 5, "Other"});
  SvgOptions o;
  o.title = "off-CPU <pid 42>";
  auto svg = to_svg(stacks, o);
  std::string err;
  auto rects = rects_of(svg, err);
  ASSERT_TRUE(err.empty()) << err;
  ASSERT_EQ(rects.size(), layout(stacks).size());
  const Rect* all = nullptr;
  std::map<std::string, const Rect*> by;
  for (const auto& r : rects) {
    by[r.name] = &r;
    if (r.name == "all") all = &r;
  }
  ASSERT_TRUE(all);
  ASSERT_TRUE(by.count("odd <name> & \"quotes\""));
  for (const auto& r : rects)  // width / weight is one scale for every frame
    EXPECT_NEAR(r.w / all->w, static_cast<double>(r.weight) / static_cast<double>(all->weight), 0.002) << r.name;
  // Root at the bottom: each frame sits above its caller.
  EXPECT_GT(by["all"]->y, by["PostgresMain"]->y);
  EXPECT_GT(by["PostgresMain"]->y, by["exec_simple_query"]->y);
  EXPECT_GT(by["exec_simple_query"]->y, by["ProcSleep"]->y);
  EXPECT_GT(by["ProcSleep"]->y, by["WaitLatch"]->y);
  // Self-contained: no external reference.
  EXPECT_EQ(svg.find("xlink:href"), std::string::npos);
  EXPECT_EQ(svg.find("<script src"), std::string::npos);
  EXPECT_NE(svg.find("function zoom"), std::string::npos);
}

TEST(Flame, SvgOfNothingIsStillAnSvg) {
  std::string err;
  auto rects = rects_of(to_svg({}, {}), err);
  EXPECT_TRUE(err.empty()) << err;
  EXPECT_TRUE(rects.empty());
}

// The parts of speedscope's file-format schema a sampled profile must meet.
TEST(Flame, SpeedscopeFollowsTheFileFormat) {
  auto j = to_speedscope(sample(), "off-CPU pid 42", "nanoseconds");
  ASSERT_TRUE(j.is_object());
  EXPECT_EQ(j["$schema"], "https://www.speedscope.app/file-format-schema.json");
  ASSERT_TRUE(j["shared"]["frames"].is_array());
  const auto& frames = j["shared"]["frames"];
  std::set<std::string> names;
  for (const auto& f : frames) {
    ASSERT_TRUE(f.is_object() && f["name"].is_string()) << f.dump();
    EXPECT_TRUE(names.insert(f["name"].get<std::string>()).second) << "frame listed twice: " << f.dump();
  }
  ASSERT_TRUE(j["profiles"].is_array());
  ASSERT_EQ(j["profiles"].size(), 1u);
  const auto& p = j["profiles"][0];
  EXPECT_EQ(p["type"], "sampled");
  const std::set<std::string> units = {"none", "nanoseconds", "microseconds", "milliseconds", "seconds", "bytes"};
  EXPECT_TRUE(units.count(p["unit"].get<std::string>()));
  ASSERT_TRUE(p["name"].is_string() && p["startValue"].is_number() && p["endValue"].is_number());
  ASSERT_TRUE(p["samples"].is_array() && p["weights"].is_array());
  ASSERT_EQ(p["samples"].size(), p["weights"].size());
  uint64_t sum = 0;
  for (size_t i = 0; i < p["samples"].size(); ++i) {
    for (const auto& id : p["samples"][i]) {
      ASSERT_TRUE(id.is_number_unsigned());
      EXPECT_LT(id.get<size_t>(), frames.size());
    }
    sum += p["weights"][i].get<uint64_t>();
  }
  EXPECT_EQ(sum, 1100u);
  EXPECT_EQ(p["endValue"].get<uint64_t>(), sum);
  // Samples run from the root: the first frame of every sample is PostgresMain.
  for (const auto& s : p["samples"]) EXPECT_EQ(frames[s[0].get<size_t>()]["name"], "PostgresMain");
}
