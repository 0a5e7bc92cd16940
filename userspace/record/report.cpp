#include "record/report.h"

#include <algorithm>
#include <cmath>
#include <set>

#include <fmt/format.h>

namespace pgstall::record {
namespace {

double round1(double v) { return std::round(v * 10) / 10; }

std::string weight_s(uint64_t ns) {
  const double s = static_cast<double>(ns) / 1e9;
  return s >= 10 ? fmt::format("{:.1f}s", s) : s >= 0.01 ? fmt::format("{:.2f}s", s) : fmt::format("{:.1f}ms", s * 1e3);
}

bool is_noise(const std::string& f) {
  // The scheduler and the tracepoint the stack was taken in: in every
  // off-CPU stack, telling nothing.
  static const char* const kNoise[] = {"__traceiter_", "__schedule", "schedule [k]", "schedule_", "finish_task_switch",
                                       "__bpf_trace_", "bpf_trace_run", "bpf_prog_", "[no stack]", "do_syscall_64",
                                       "entry_SYSCALL_64", "__x64_sys_", "__arm64_sys_", "el0_svc", "el0t_64_sync",
                                       "invoke_syscall"};
  for (const char* n : kNoise)
    if (f.rfind(n, 0) == 0) return true;
  return false;
}

std::vector<std::string> frames_of(const nlohmann::json& e, const char* key = "frames") {
  std::vector<std::string> out;
  if (auto it = e.find(key); it != e.end() && it->is_array())
    for (const auto& f : *it)
      if (f.is_string()) out.push_back(f.get<std::string>());
  return out;
}

template <typename T>
T get_or(const nlohmann::json& j, const char* key, T def) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return def;
  try {
    return it->get<T>();
  } catch (const std::exception&) {
    return def;
  }
}

}  // namespace

Recording load(const Contents& c) {
  Recording r;
  r.truncated = c.truncated;
  r.error = c.error;
  r.unknown_types = c.unknown_types;
  if (c.records.empty() || c.records[0].type != Type::Meta) {
    if (r.error.empty()) r.error = c.records.empty() ? "the recording holds no record" : "the first record is not the header (meta)";
    return r;
  }
  for (const auto& rec : c.records) {
    const auto& b = rec.body;
    uint64_t ts = get_or<uint64_t>(b, "ts", 0);
    if (ts) {
      if (!r.first_ts || ts < r.first_ts) r.first_ts = ts;
      r.last_ts = std::max(r.last_ts, ts);
    }
    switch (rec.type) {
      case Type::Meta: r.meta = b; break;
      case Type::Process: r.processes[get_or<int>(b, "pid", 0)] = b; break;
      case Type::Event: r.events.push_back(b); break;
      case Type::Snapshot: ++r.snapshots; break;
      case Type::Stacks:
        if (auto it = b.find("entries"); it != b.end() && it->is_array())
          for (const auto& e : *it)
            if (e.is_object()) r.stacks.push_back(e);
        break;
      case Type::Counters: r.counters = b; break;
      case Type::Symbols:
        if (auto it = b.find("build_ids"); it != b.end() && it->is_object())
          for (const auto& [path, id] : it->items()) r.build_ids[path] = id;
        if (auto it = b.find("maps"); it != b.end() && it->is_array()) r.maps[get_or<int>(b, "pid", 0)] = *it;
        break;
      case Type::End:
        r.ended = true;
        r.end_reason = get_or<std::string>(b, "reason", "");
        break;
    }
  }
  return r;
}

Result<std::vector<flame::Stack>> select_stacks(const Recording& r, const std::string& kind, int pid) {
  if (kind != "offcpu" && kind != "oncpu" && kind != "io" && kind != "lock")
    return fail(fmt::format("unknown kind '{}': offcpu, oncpu, io or lock", kind));
  std::vector<flame::Stack> out;
  for (const auto& e : r.stacks) {
    const std::string k = get_or<std::string>(e, "kind", "");
    const std::string cls = get_or<std::string>(e, "class", "");
    if (kind == "oncpu" ? k != "oncpu" : k != "offcpu") continue;
    if (kind == "io" && cls != "IO") continue;
    if (kind == "lock" && cls != "Lock" && cls != "LWLock") continue;
    const int p = get_or<int>(e, "pid", 0);
    if (pid && p != pid && get_or<int>(e, "tgid", 0) != pid) continue;
    flame::Stack s;
    std::string root = get_or<std::string>(e, "backend_type", "postgres");
    s.frames.push_back(pid ? fmt::format("{} {}", root, pid) : root);
    for (auto& f : frames_of(e)) s.frames.push_back(std::move(f));
    s.weight = get_or<uint64_t>(e, "weight", 0);
    s.cls = cls;
    out.push_back(std::move(s));
  }
  return flame::merge(std::move(out));
}

std::vector<StallSpan> stall_spans(const Recording& r) {
  std::vector<StallSpan> out;
  std::map<std::pair<int, std::string>, size_t> open;  // (pid, kind) -> index
  std::map<std::pair<int, std::string>, uint64_t> start_ts;
  for (const auto& e : r.events) {
    const std::string type = get_or<std::string>(e, "type", "");
    const int pid = get_or<int>(e, "pid", 0);
    const std::string kind = get_or<std::string>(e, "kind", "");
    if (type == "stall") {
      StallSpan s;
      s.pid = pid;
      s.kind = kind;
      s.backend_type = get_or<std::string>(e, "backend_type", "");
      s.since = get_or<std::string>(e, "since", "");
      s.summary = get_or<std::string>(e, "summary", "");
      s.duration_s = get_or<double>(e, "duration_s", 0);
      s.detail = e.value("detail", nlohmann::json::object());
      open[{pid, kind}] = out.size();
      start_ts[{pid, kind}] = get_or<uint64_t>(e, "ts", 0);
      out.push_back(std::move(s));
    } else if (type == "stall_end") {
      auto it = open.find({pid, kind});
      if (it == open.end()) continue;  // began before the recording
      auto& s = out[it->second];
      s.ended = true;
      s.duration_s = get_or<double>(e, "duration_s", s.duration_s);
      s.woken_by = e.value("woken_by", nlohmann::json());
      open.erase(it);
    }
  }
  // Still in flight when the recording ended: as long as it was seen.
  for (const auto& [key, i] : open) {
    const uint64_t ts = start_ts[key];
    if (ts && r.last_ts > ts) out[i].duration_s += static_cast<double>(r.last_ts - ts) / 1e9;
  }
  return out;
}

std::string short_stack(const std::vector<std::string>& frames, size_t max_frames) {
  std::string out;
  size_t n = 0;
  for (auto it = frames.rbegin(); it != frames.rend() && n < max_frames; ++it) {
    if (is_noise(*it)) continue;
    out += (out.empty() ? "" : " ← ") + *it;
    ++n;
  }
  return out;
}

nlohmann::json report_json(const Recording& r, int top) {
  nlohmann::json j;
  j["meta"] = r.meta;
  j["duration_s"] = r.last_ts > r.first_ts ? round1(static_cast<double>(r.last_ts - r.first_ts) / 1e9) : 0.0;
  j["ended"] = r.ended;
  j["end_reason"] = r.end_reason;
  j["truncated"] = r.truncated;
  j["error"] = r.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.error);
  j["snapshots"] = r.snapshots;
  j["lost"] = r.counters.value("lost", nlohmann::json::object());
  j["processes"] = r.processes.size();
  j["build_ids"] = r.build_ids;
  j["processes_with_maps"] = r.maps.size();

  auto spans = stall_spans(r);
  nlohmann::json stalls = nlohmann::json::array(), by_kind = nlohmann::json::object();
  std::map<int, nlohmann::json> timelines;
  for (const auto& s : spans) {
    nlohmann::json x = {{"pid", s.pid},         {"kind", s.kind},         {"backend_type", s.backend_type},
                        {"since", s.since},     {"duration_s", round1(s.duration_s)}, {"ended", s.ended},
                        {"woken_by", s.woken_by}, {"summary", s.summary}};
    if (s.detail.contains("blocked_by")) x["blocked_by"] = s.detail["blocked_by"];
    if (s.detail.contains("lock")) x["lock"] = s.detail["lock"];
    if (s.detail.contains("stack")) x["stack"] = s.detail["stack"];
    stalls.push_back(x);
    auto& k = by_kind[s.kind];
    if (k.is_null()) k = {{"count", 0}, {"total_s", 0.0}, {"longest_s", 0.0}};
    k["count"] = k["count"].get<int>() + 1;
    k["total_s"] = round1(k["total_s"].get<double>() + s.duration_s);
    k["longest_s"] = std::max(k["longest_s"].get<double>(), round1(s.duration_s));
    timelines[s.pid].push_back(x);
  }
  j["stalls"] = stalls;
  j["stalls_by_kind"] = by_kind;
  nlohmann::json tl = nlohmann::json::object();
  for (auto& [pid, v] : timelines) tl[std::to_string(pid)] = v;
  j["timelines"] = tl;

  nlohmann::json blockers = nlohmann::json::array(), deadlocks = nlohmann::json::array();
  std::set<std::string> seen;
  for (const auto& s : spans) {
    if (!s.detail.contains("blocked_by")) continue;
    const auto& b = s.detail["blocked_by"];
    nlohmann::json x = {{"pid", s.pid}, {"holders", b.value("holders", nlohmann::json::array())},
                        {"chain", b.value("chain", nlohmann::json::array())}};
    if (seen.insert(x.dump()).second) blockers.push_back(x);
  }
  for (const auto& e : r.events) {
    const std::string type = get_or<std::string>(e, "type", "");
    if (type == "deadlock") deadlocks.push_back(e);
    if (type == "blocked_by") blockers.push_back(e);
  }
  j["blockers"] = blockers;
  j["deadlocks"] = deadlocks;

  std::map<std::string, uint64_t> by_class;
  struct Top {
    uint64_t w;
    nlohmann::json e;
  };
  std::map<std::string, Top> off, on;  // merged by class + frames
  uint64_t oncpu_samples = 0;
  for (const auto& e : r.stacks) {
    const uint64_t w = get_or<uint64_t>(e, "weight", 0);
    const bool offcpu = get_or<std::string>(e, "kind", "") == "offcpu";
    const std::string cls = get_or<std::string>(e, "class", "");
    if (offcpu) by_class[cls] += w;
    else oncpu_samples += w;
    const std::string key = cls + "|" + get_or<std::string>(e, "backend_type", "") + "|" + e.value("frames", nlohmann::json()).dump();
    auto& t = (offcpu ? off : on)[key];
    if (t.e.is_null()) t.e = e;
    t.w += w;
  }
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [c, w] : by_class) classes[c] = {{"weight_ns", w}, {"seconds", round1(w / 1e9)}};
  j["offcpu_by_class"] = classes;
  j["oncpu_samples"] = oncpu_samples;
  auto tops = [&](std::map<std::string, Top>& m, bool offcpu) {
    std::vector<Top> v;
    for (auto& [k, t] : m) v.push_back(t);
    std::sort(v.begin(), v.end(), [](const Top& a, const Top& b) { return a.w > b.w; });
    nlohmann::json out = nlohmann::json::array();
    for (size_t i = 0; i < v.size() && static_cast<int>(i) < top; ++i) {
      out.push_back({{offcpu ? "weight_ns" : "samples", v[i].w},
                     {"class", v[i].e.value("class", "")},
                     {"backend_type", v[i].e.value("backend_type", "")},
                     {"frames", v[i].e.value("frames", nlohmann::json::array())},
                     {"short", short_stack(frames_of(v[i].e), 8)}});
    }
    return out;
  };
  j["top_offcpu"] = tops(off, true);
  j["top_oncpu"] = tops(on, false);
  return j;
}

std::string report_text(const Recording& r, int top) {
  const auto j = report_json(r, top);
  std::string out;
  const auto& m = r.meta;
  out += fmt::format("Recorded on {} (kernel {}) by pgstall {}, from {} for {:.1f}s; ", m.value("host", "?"),
                     m.value("kernel", "?"), m.value("pgstall", "?"), m.value("started", "?"),
                     j["duration_s"].get<double>());
  out += r.ended ? fmt::format("stopped: {}\n", r.end_reason)
                 : "no end record: the recorder was killed or the copy is cut short\n";
  if (r.truncated) out += "The file ends inside a record: everything up to the last whole record is shown.\n";
  if (!r.error.empty()) out += fmt::format("DAMAGED: {}; what came before it is shown.\n", r.error);
  std::string lost;
  for (const auto& [k, v] : j["lost"].items()) lost += fmt::format(" {}={}", k, v.dump());
  out += fmt::format("{} processes, {} snapshots; lost:{}\n", j["processes"].get<size_t>(), r.snapshots,
                     lost.empty() ? " nothing" : lost);

  out += fmt::format("\nSTALLS ({})\n", j["stalls"].size());
  if (j["stalls"].empty()) out += "  none flagged\n";
  for (const auto& [kind, k] : j["stalls_by_kind"].items())
    out += fmt::format("  {:<12} {:>3} stalls, {:>8.1f}s in all, longest {:.1f}s\n", kind, k["count"].get<int>(),
                       k["total_s"].get<double>(), k["longest_s"].get<double>());

  if (!j["timelines"].empty()) out += "\nBY BACKEND\n";
  for (const auto& [pid, list] : j["timelines"].items()) {
    out += fmt::format("  pid {} {}\n", pid, list[0].value("backend_type", ""));
    for (const auto& s : list) {
      std::string end = s["ended"].get<bool>()
                            ? (s["woken_by"].is_null() ? "ended" : fmt::format("ended, woken by pid {}", s["woken_by"].dump()))
                            : "still in flight at the end";
      out += fmt::format("    {} {} {:.1f}s — {} [{}]\n", s.value("since", ""), s.value("kind", ""),
                         s["duration_s"].get<double>(), s.value("summary", ""), end);
      if (s.contains("stack"))
        out += fmt::format("      stack: {}\n", short_stack(frames_of(s, "stack"), 10));
    }
  }
  if (!j["blockers"].empty() || !j["deadlocks"].empty()) out += "\nWHO BLOCKED WHOM\n";
  for (const auto& b : j["blockers"]) {
    std::string holders, chain;
    for (const auto& h : b.value("holders", nlohmann::json::array()))
      holders += fmt::format("{}pid {}", holders.empty() ? "" : ", ", h.is_object() ? h.value("pid", 0) : 0);
    for (const auto& c : b.value("chain", nlohmann::json::array())) chain += (chain.empty() ? "" : " -> ") + c.dump();
    if (holders.empty())
      for (const auto& h : b.value("blocked_by", nlohmann::json::array())) holders += (holders.empty() ? "pid " : ", pid ") + h.dump();
    out += fmt::format("  pid {} blocked by {}{}\n", b.value("pid", 0), holders.empty() ? "?" : holders,
                       chain.empty() ? "" : "; chain " + chain);
  }
  for (const auto& d : j["deadlocks"])
    out += fmt::format("  DEADLOCK found by pid {} at {}; other lock waiters: {}\n", d.value("pid", 0),
                       d.value("at", ""), d.value("others", nlohmann::json::array()).dump());

  out += "\nOFF-CPU TIME BY WAIT CLASS\n";
  if (j["offcpu_by_class"].empty()) out += "  no off-CPU stacks recorded\n";
  uint64_t total = 0;
  for (const auto& [c, v] : j["offcpu_by_class"].items()) total += v["weight_ns"].get<uint64_t>();
  for (const auto& [c, v] : j["offcpu_by_class"].items())
    out += fmt::format("  {:<8} {:>10}  {:>5.1f}%\n", c, weight_s(v["weight_ns"].get<uint64_t>()),
                       total ? 100.0 * v["weight_ns"].get<uint64_t>() / total : 0.0);
  out += fmt::format("\nTOP OFF-CPU STACKS (leaf first)\n");
  for (const auto& t : j["top_offcpu"])
    out += fmt::format("  {:>9} {:<7} {:<16} {}\n", weight_s(t["weight_ns"].get<uint64_t>()), t.value("class", ""),
                       t.value("backend_type", ""), t.value("short", ""));
  out += fmt::format("\nTOP ON-CPU STACKS ({} samples{})\n", j["oncpu_samples"].get<uint64_t>(),
                     m.value("oncpu_hz", 0) ? fmt::format(" at {} Hz", m.value("oncpu_hz", 0)) : "");
  for (const auto& t : j["top_oncpu"])
    out += fmt::format("  {:>6} {:<16} {}\n", t["samples"].get<uint64_t>(), t.value("backend_type", ""),
                       t.value("short", ""));
  return out;
}

}  // namespace pgstall::record
