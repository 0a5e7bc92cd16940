#include "flame/flame.h"

#include <algorithm>
#include <map>
#include <memory>
#include <tuple>

#include <fmt/format.h>

namespace pgstall::flame {
namespace {

struct Node {
  uint64_t total = 0;
  std::map<std::string, uint64_t> by_cls;
  std::map<std::string, std::unique_ptr<Node>> kids;  // by name: a stable, alphabetical order
};

std::string dominant(const Node& n) {
  std::string best;
  uint64_t w = 0;
  for (const auto& [c, v] : n.by_cls)
    if (v > w) best = c, w = v;
  return best;
}

void walk(const Node& n, const std::string& name, uint64_t x, int depth, std::vector<Box>& out) {
  out.push_back({name, dominant(n), x, n.total, depth});
  for (const auto& [kname, kid] : n.kids) {
    walk(*kid, kname, x, depth + 1, out);
    x += kid->total;
  }
}

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        // XML 1.0 forbids most control characters even escaped.
        out += (static_cast<unsigned char>(c) < 0x20 && c != '\t') ? ' ' : c;
    }
  }
  return out;
}

std::string weight_text(uint64_t w, const std::string& unit) {
  if (unit != "ns") return fmt::format("{} {}", w, w == 1 && unit == "samples" ? "sample" : unit);
  double v = static_cast<double>(w);
  if (v >= 1e9) return fmt::format("{:.2f} s", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.1f} ms", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.0f} µs", v / 1e3);
  return fmt::format("{} ns", w);
}

// Hue by class (the wait's nature), lightness varied by name so neighbours differ.
std::string colour(const std::string& cls, const std::string& name) {
  int hue = 45, sat = 70;
  if (cls == "cpu") hue = 20, sat = 85;
  else if (cls == "Lock") hue = 0, sat = 75;
  else if (cls == "LWLock") hue = 285, sat = 55;
  else if (cls == "IO") hue = 210, sat = 70;
  else if (cls == "Client") hue = 120, sat = 45;
  else if (cls == "Timeout") hue = 185, sat = 45;
  uint32_t h = 2166136261u;
  for (unsigned char c : name) h = (h ^ c) * 16777619u;
  int light = 55 + static_cast<int>(h % 20);
  return fmt::format("hsl({},{}%,{}%)", hue, sat, light);
}

// Frame text cut to what fits (about 7 px a character at 12 px).
std::string fit(const std::string& name, double px) {
  const int chars = static_cast<int>((px - 6) / 7);
  if (chars < 3) return "";
  if (static_cast<int>(name.size()) <= chars) return name;
  std::string s = name.substr(0, chars - 2);
  while (!s.empty() && (static_cast<unsigned char>(s.back()) & 0xC0) == 0x80) s.pop_back();  // UTF-8 boundary
  if (!s.empty() && static_cast<unsigned char>(s.back()) >= 0xC0) s.pop_back();
  return s + "..";
}

// Zoom, hover details and search; kept in the file so it works offline.
constexpr const char* kScript = R"JS(
var svg = document.documentElement;
var W = +svg.getAttribute('data-width'), PAD = 10, TOTAL = +svg.getAttribute('data-total');
var UNIT = svg.getAttribute('data-unit');
var frames = Array.prototype.slice.call(document.querySelectorAll('g.f'));
var details = document.getElementById('details'), matched = document.getElementById('matched');
function wtext(w) {
  if (UNIT !== 'ns') return w + ' ' + UNIT;
  if (w >= 1e9) return (w / 1e9).toFixed(2) + ' s';
  if (w >= 1e6) return (w / 1e6).toFixed(1) + ' ms';
  if (w >= 1e3) return (w / 1e3).toFixed(0) + ' \u00b5s';
  return w + ' ns';
}
function fit(g, px) {
  var t = g.querySelector('text'), n = g.getAttribute('data-n'), c = Math.floor((px - 6) / 7);
  t.textContent = c < 3 ? '' : (n.length <= c ? n : n.substring(0, c - 2) + '..');
}
function zoom(x0, w0, d0) {
  frames.forEach(function (g) {
    var x = +g.getAttribute('data-x'), w = +g.getAttribute('data-w'), d = +g.getAttribute('data-d');
    var r = g.querySelector('rect'), t = g.querySelector('text');
    var inside = d >= d0 && x >= x0 && x + w <= x0 + w0, above = d < d0 && x <= x0 && x + w >= x0 + w0;
    if (!inside && !above) { g.style.display = 'none'; return; }
    g.style.display = '';
    var px = inside ? PAD + (x - x0) / w0 * (W - 2 * PAD) : PAD;
    var pw = inside ? w / w0 * (W - 2 * PAD) : W - 2 * PAD;
    r.setAttribute('x', px); r.setAttribute('width', Math.max(pw, 0.1));
    t.setAttribute('x', px + 3); fit(g, pw);
    g.style.opacity = above ? 0.6 : 1;
  });
}
frames.forEach(function (g) {
  g.addEventListener('click', function () {
    zoom(+g.getAttribute('data-x'), +g.getAttribute('data-w'), +g.getAttribute('data-d'));
  });
  g.addEventListener('mouseover', function () {
    var w = +g.getAttribute('data-w');
    details.textContent = g.getAttribute('data-n') + ' (' + wtext(w) + ', ' + (100 * w / TOTAL).toFixed(2) + '%)';
  });
  g.addEventListener('mouseout', function () { details.textContent = ' '; });
});
document.getElementById('reset').addEventListener('click', function () { zoom(0, TOTAL, 0); });
document.getElementById('search').addEventListener('click', function () {
  var q = prompt('Search frames (regular expression):');
  var re = null;
  try { re = q ? new RegExp(q) : null; } catch (e) { alert(e); return; }
  var hits = [];
  frames.forEach(function (g) {
    var r = g.querySelector('rect');
    if (!r.getAttribute('data-fill')) r.setAttribute('data-fill', r.getAttribute('fill'));
    var on = re && re.test(g.getAttribute('data-n'));
    r.setAttribute('fill', on ? 'rgb(230,0,230)' : r.getAttribute('data-fill'));
    if (on) hits.push([+g.getAttribute('data-x'), +g.getAttribute('data-w')]);
  });
  hits.sort(function (a, b) { return a[0] - b[0]; });
  var sum = 0, end = -1;
  hits.forEach(function (h) {  // nested matches count once
    var s = Math.max(h[0], end), e = h[0] + h[1];
    if (e > s) { sum += e - s; end = e; }
  });
  matched.textContent = re ? 'Matched: ' + (100 * sum / TOTAL).toFixed(1) + '%' : ' ';
});
)JS";

}  // namespace

std::string fold_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == ';') c = ':';
    else if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

std::vector<Stack> merge(std::vector<Stack> stacks) {
  std::sort(stacks.begin(), stacks.end(), [](const Stack& a, const Stack& b) {
    return std::tie(a.frames, a.cls) < std::tie(b.frames, b.cls);
  });
  std::vector<Stack> out;
  for (auto& s : stacks) {
    if (!out.empty() && out.back().frames == s.frames && out.back().cls == s.cls)
      out.back().weight += s.weight;
    else
      out.push_back(std::move(s));
  }
  return out;
}

std::string to_folded(const std::vector<Stack>& stacks) {
  // Folded text has no class: stacks equal but for it are one line.
  std::map<std::string, uint64_t> lines;
  for (const auto& s : stacks) {
    if (!s.weight || s.frames.empty()) continue;
    std::string line;
    for (const auto& f : s.frames) {
      if (!line.empty()) line += ';';
      line += fold_name(f);
    }
    lines[line] += s.weight;
  }
  std::string out;
  for (const auto& [l, w] : lines) out += fmt::format("{} {}\n", l, w);
  return out;
}

Result<std::vector<Stack>> parse_folded(std::string_view text) {
  std::vector<Stack> out;
  size_t lineno = 0;
  while (!text.empty()) {
    ++lineno;
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    size_t sp = line.rfind(' ');
    if (sp == std::string_view::npos || sp == 0 || sp + 1 == line.size())
      return fail(fmt::format("line {}: expected \"frame;frame;... weight\"", lineno));
    Stack s;
    auto num = line.substr(sp + 1);
    for (char c : num) {
      if (c < '0' || c > '9' || s.weight > (UINT64_MAX - 9) / 10)
        return fail(fmt::format("line {}: weight \"{}\" is not an unsigned integer", lineno, num));
      s.weight = s.weight * 10 + (c - '0');
    }
    auto frames = line.substr(0, sp);
    size_t start = 0;
    while (true) {
      size_t semi = frames.find(';', start);
      s.frames.emplace_back(frames.substr(start, semi - start));
      if (semi == std::string_view::npos) break;
      start = semi + 1;
    }
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Box> layout(const std::vector<Stack>& stacks) {
  Node root;
  for (const auto& s : stacks) {
    if (!s.weight) continue;
    Node* n = &root;
    n->total += s.weight;
    n->by_cls[s.cls] += s.weight;
    for (const auto& f : s.frames) {
      auto& k = n->kids[f];
      if (!k) k = std::make_unique<Node>();
      n = k.get();
      n->total += s.weight;
      n->by_cls[s.cls] += s.weight;
    }
  }
  std::vector<Box> out;
  if (root.total) walk(root, "all", 0, 0, out);
  return out;
}

std::string to_svg(const std::vector<Stack>& stacks, const SvgOptions& opt) {
  const auto boxes = layout(stacks);
  const uint64_t total = boxes.empty() ? 0 : boxes[0].width;
  int max_depth = 0;
  for (const auto& b : boxes) max_depth = std::max(max_depth, b.depth);
  const int top = 60, bottom = 30, pad = 10;
  const int height = top + (max_depth + 1) * opt.frame_height + bottom;
  const double scale = total ? static_cast<double>(opt.width - 2 * pad) / static_cast<double>(total) : 0;

  std::string out;
  out += "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";
  out += fmt::format(
      "<svg version=\"1.1\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" "
      "viewBox=\"0 0 {0} {1}\" data-width=\"{0}\" data-total=\"{2}\" data-unit=\"{3}\">\n",
      opt.width, height, total, xml_escape(opt.unit));
  out += "<style>text{font-family:monospace;font-size:12px;fill:#000}"
         "g.f:hover rect{stroke:#000;stroke-width:0.5}g.f{cursor:pointer}"
         ".ctl{cursor:pointer;fill:#036}</style>\n";
  out += fmt::format("<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"#f8f8f0\"/>\n", opt.width, height);
  out += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" style=\"font-size:16px\">{}</text>\n",
                     opt.width / 2, xml_escape(opt.title));
  out += fmt::format("<text x=\"{}\" y=\"40\" text-anchor=\"middle\">{}</text>\n", opt.width / 2,
                     xml_escape(opt.subtitle.empty() ? "total " + weight_text(total, opt.unit)
                                                     : opt.subtitle + " — total " + weight_text(total, opt.unit)));
  out += fmt::format("<text id=\"reset\" class=\"ctl\" x=\"{}\" y=\"22\">Reset zoom</text>\n", pad);
  out += fmt::format("<text id=\"search\" class=\"ctl\" x=\"{}\" y=\"22\" text-anchor=\"end\">Search</text>\n",
                     opt.width - pad);
  out += fmt::format("<text id=\"details\" x=\"{}\" y=\"{}\"> </text>\n", pad, height - 10);
  out += fmt::format("<text id=\"matched\" x=\"{}\" y=\"{}\" text-anchor=\"end\"> </text>\n", opt.width - pad,
                     height - 10);
  for (const auto& b : boxes) {
    const double x = pad + static_cast<double>(b.x) * scale, w = static_cast<double>(b.width) * scale;
    const int y = height - bottom - (b.depth + 1) * opt.frame_height;
    const std::string name = xml_escape(b.name);
    const double pct = total ? 100.0 * static_cast<double>(b.width) / static_cast<double>(total) : 0;
    out += fmt::format(
        "<g class=\"f\" data-n=\"{0}\" data-x=\"{1}\" data-w=\"{2}\" data-d=\"{3}\" data-c=\"{4}\">"
        "<title>{0} ({5}, {6:.2f}%{7})</title>"
        "<rect x=\"{8:.2f}\" y=\"{9}\" width=\"{10:.2f}\" height=\"{11}\" fill=\"{12}\" rx=\"2\"/>"
        "<text x=\"{13:.2f}\" y=\"{14}\">{15}</text></g>\n",
        name, b.x, b.width, b.depth, xml_escape(b.cls), weight_text(b.width, opt.unit), pct,
        b.cls.empty() ? "" : ", " + xml_escape(b.cls), x, y, std::max(w, 0.1), opt.frame_height - 1,
        b.depth == 0 ? "hsl(0,0%,80%)" : colour(b.cls, b.name), x + 3, y + opt.frame_height - 4,
        xml_escape(fit(b.name, w)));
  }
  out += "<script type=\"text/ecmascript\"><![CDATA[";
  out += kScript;
  out += "]]></script>\n</svg>\n";
  return out;
}

nlohmann::json to_speedscope(const std::vector<Stack>& stacks, const std::string& name, const std::string& unit) {
  nlohmann::json frames = nlohmann::json::array();
  std::map<std::string, size_t> index;
  nlohmann::json samples = nlohmann::json::array(), weights = nlohmann::json::array();
  uint64_t total = 0;
  for (const auto& s : merge(stacks)) {
    if (!s.weight || s.frames.empty()) continue;
    nlohmann::json ids = nlohmann::json::array();
    for (const auto& f : s.frames) {
      auto [it, fresh] = index.try_emplace(f, frames.size());
      if (fresh) frames.push_back({{"name", f}});
      ids.push_back(it->second);
    }
    samples.push_back(std::move(ids));
    weights.push_back(s.weight);
    total += s.weight;
  }
  return {{"$schema", "https://www.speedscope.app/file-format-schema.json"},
          {"exporter", "pgstall"},
          {"name", name},
          {"activeProfileIndex", 0},
          {"shared", {{"frames", frames}}},
          {"profiles",
           nlohmann::json::array({{{"type", "sampled"},
                                   {"name", name},
                                   {"unit", unit},
                                   {"startValue", 0},
                                   {"endValue", total},
                                   {"samples", samples},
                                   {"weights", weights}}})}};
}

}  // namespace pgstall::flame
