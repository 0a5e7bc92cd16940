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

Loader::Loader(int pid) { r_.pid = pid; }

// With a pid: events about that process, or naming it as a holder or a
// deadlock partner.
bool Loader::involves(const nlohmann::json& e) const {
  if (!r_.pid || get_or<int>(e, "pid", 0) == r_.pid) return true;
  for (const char* key : {"blocked_by", "others"})
    if (auto it = e.find(key); it != e.end() && it->is_array())
      for (const auto& x : *it)
        if ((x.is_number_integer() && x.get<int64_t>() == r_.pid) || (x.is_object() && get_or<int>(x, "pid", 0) == r_.pid))
          return true;
  return false;
}

void Loader::event(const nlohmann::json& e) {
  const std::string type = get_or<std::string>(e, "type", "");
  const int pid = get_or<int>(e, "pid", 0);
  if (type == "deadlock" || type == "blocked_by") {
    if (involves(e)) (type == "deadlock" ? r_.deadlocks : r_.blocked_by).push_back(e);
    return;
  }
  if (r_.pid && pid != r_.pid) return;
  const std::string kind = get_or<std::string>(e, "kind", "");
  if (type == "stall") {
    StallSpan s;
    s.pid = pid;
    s.kind = kind;
    s.backend_type = get_or<std::string>(e, "backend_type", "");
    s.since = get_or<std::string>(e, "since", "");
    s.summary = get_or<std::string>(e, "summary", "");
    s.duration_s = get_or<double>(e, "duration_s", 0);
    s.lower_bound = get_or<bool>(e, "lower_bound", false);
    s.start_ts = get_or<uint64_t>(e, "ts", 0);
    // Only what the report shows: a stall's whole detail can be large.
    s.detail = nlohmann::json::object();
    if (auto d = e.find("detail"); d != e.end() && d->is_object())
      for (const char* key : {"blocked_by", "lock", "stack", "query", "user", "database"})
        if (auto it = d->find(key); it != d->end()) s.detail[key] = *it;
    if (auto it = e.find("input_lost"); it != e.end() && it->is_object()) s.input_lost = *it;
    open_[{pid, kind}] = r_.stalls.size();
    r_.stalls.push_back(std::move(s));
  } else if (type == "stall_end") {
    auto it = open_.find({pid, kind});
    if (it == open_.end()) return;  // began before the recording
    auto& s = r_.stalls[it->second];
    s.ended = true;
    s.duration_s = get_or<double>(e, "duration_s", s.duration_s);
    s.woken_by = e.value("woken_by", nlohmann::json());
    // The end's count covers the whole stall, the start's only its beginning.
    if (auto lost = e.find("input_lost"); lost != e.end() && lost->is_object()) s.input_lost = *lost;
    open_.erase(it);
  }
}

void Loader::stacks(const nlohmann::json& entries) {
  if (!entries.is_array()) return;
  for (const auto& e : entries) {
    if (!e.is_object()) continue;
    if (r_.pid && get_or<int>(e, "pid", 0) != r_.pid && get_or<int>(e, "tgid", 0) != r_.pid) continue;
    StackSum s;
    s.kind = get_or<std::string>(e, "kind", "");
    s.cls = get_or<std::string>(e, "class", "");
    s.backend_type = get_or<std::string>(e, "backend_type", "");
    s.frames = frames_of(e);
    std::string key = s.kind + '\n' + s.cls + '\n' + s.backend_type;
    for (const auto& f : s.frames) key += '\n' + f;
    auto [it, fresh] = r_.stacks.try_emplace(std::move(key));
    if (fresh) it->second = std::move(s);
    it->second.weight += get_or<uint64_t>(e, "weight", 0);
    it->second.lower_bound = it->second.lower_bound || get_or<bool>(e, "lower_bound", false);
  }
}

void Loader::add(const Record& rec) {
  const auto& b = rec.body;
  if (first_) {
    first_ = false;
    if (rec.type != Type::Meta) r_.error = "the first record is not the header (meta)";
  }
  if (!r_.error.empty()) return;
  if (uint64_t ts = get_or<uint64_t>(b, "ts", 0)) {
    if (!r_.first_ts || ts < r_.first_ts) r_.first_ts = ts;
    r_.last_ts = std::max(r_.last_ts, ts);
  }
  switch (rec.type) {
    case Type::Meta: r_.meta = b; break;
    case Type::Process:
      if (int pid = get_or<int>(b, "pid", 0); !r_.pid || pid == r_.pid) r_.processes[pid] = b;
      break;
    case Type::Event: event(b); break;
    case Type::Snapshot: ++r_.snapshots; break;
    case Type::Stacks:
      if (auto it = b.find("entries"); it != b.end()) stacks(*it);
      break;
    case Type::Counters: r_.counters = b; break;
    case Type::Symbols:
      if (auto it = b.find("build_ids"); it != b.end() && it->is_object())
        for (const auto& [path, id] : it->items()) r_.build_ids[path] = id;
      if (auto it = b.find("maps"); it != b.end() && it->is_array()) with_maps_.insert(get_or<int>(b, "pid", 0));
      break;
    case Type::End:
      r_.ended = true;
      r_.end_reason = get_or<std::string>(b, "reason", "");
      break;
  }
}

Recording Loader::finish(const ReadStatus& read) && {
  r_.read = read;
  if (!read.error.empty()) r_.error = read.error;
  else if (first_ && r_.error.empty()) r_.error = "the recording holds no record (only its header)";
  r_.processes_with_maps = with_maps_.size();
  // Still in flight when the recording ended: as long as it was seen.
  for (const auto& [key, i] : open_) {
    auto& s = r_.stalls[i];
    if (s.start_ts && r_.last_ts > s.start_ts) s.duration_s += static_cast<double>(r_.last_ts - s.start_ts) / 1e9;
  }
  open_.clear();
  return std::move(r_);
}

Recording load_file(const std::string& path, int pid) {
  auto reader = Reader::open_file(path);
  Loader l(pid);
  for (Record rec; reader.next(rec);) l.add(rec);
  return std::move(l).finish(reader.status());
}

Recording load(const Contents& c, int pid) {
  Loader l(pid);
  for (const auto& rec : c.records) l.add(rec);
  return std::move(l).finish(c);
}

Result<std::vector<flame::Stack>> select_stacks(const Recording& r, const std::string& kind) {
  if (kind != "offcpu" && kind != "oncpu" && kind != "io" && kind != "lock")
    return fail(fmt::format("unknown kind '{}': offcpu, oncpu, io or lock", kind));
  std::vector<flame::Stack> out;
  for (const auto& [key, e] : r.stacks) {
    if (kind == "oncpu" ? e.kind != "oncpu" : e.kind != "offcpu") continue;
    if (kind == "io" && e.cls != "IO") continue;
    if (kind == "lock" && e.cls != "Lock" && e.cls != "LWLock") continue;
    flame::Stack s;
    const std::string root = e.backend_type.empty() ? "postgres" : e.backend_type;
    s.frames.push_back(r.pid ? fmt::format("{} {}", root, r.pid) : root);
    s.frames.insert(s.frames.end(), e.frames.begin(), e.frames.end());
    s.weight = e.weight;
    s.cls = e.cls;
    out.push_back(std::move(s));
  }
  return flame::merge(std::move(out));
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

namespace {

nlohmann::json stall_json(const StallSpan& s) {
  nlohmann::json x = {{"pid", s.pid},
                      {"kind", s.kind},
                      {"backend_type", s.backend_type},
                      {"since", s.since},
                      {"duration_s", round1(s.duration_s)},
                      {"lower_bound", s.lower_bound},
                      {"ended", s.ended},
                      {"woken_by", s.woken_by},
                      {"summary", s.summary}};
  for (const char* key : {"user", "database", "query", "blocked_by", "lock", "stack"})
    if (s.detail.contains(key)) x[key] = s.detail[key];
  if (s.input_lost.is_object() && !s.input_lost.empty()) {
    nlohmann::json probes = nlohmann::json::array();
    for (const auto& [probe, n] : s.input_lost.items()) probes.push_back(probe);
    x["input_incomplete"] = std::move(probes);
    x["input_lost"] = s.input_lost;
  }
  return x;
}

// "sched_process_fork 1000, sched_process_exit 234" from {"probe": count}, and their sum.
std::pair<std::string, uint64_t> lost_text(const nlohmann::json& by_probe) {
  std::string out;
  uint64_t total = 0;
  if (!by_probe.is_object()) return {out, total};
  for (const auto& [probe, n] : by_probe.items()) {
    const uint64_t v = n.is_number_unsigned() || n.is_number_integer() ? n.get<uint64_t>() : 0;
    total += v;
    out += fmt::format("{}{} {}", out.empty() ? "" : ", ", probe, v);
  }
  return {out, total};
}

// "alice@shop", "alice", "@shop" or "" as the stall's title told.
std::string user_at_db(const nlohmann::json& stall) {
  const std::string u = stall.value("user", ""), d = stall.value("database", "");
  return u.empty() && d.empty() ? "" : d.empty() ? u : u + "@" + d;
}

// A statement on one line, cut at max bytes on a UTF-8 boundary.
std::string one_line(const std::string& q, size_t max, bool truncated) {
  std::string out;
  bool space = false;
  for (char c : q) {
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  if (out.size() > max) {
    size_t cut = max;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    truncated = true;
  }
  return truncated ? out + "…" : out;
}

nlohmann::json blockers_json(const Recording& r) {
  nlohmann::json blockers = nlohmann::json::array();
  std::set<std::string> seen;
  for (const auto& s : r.stalls) {
    if (!s.detail.contains("blocked_by")) continue;
    const auto& b = s.detail["blocked_by"];
    if (!b.is_object()) continue;
    nlohmann::json x = {{"pid", s.pid}, {"holders", b.value("holders", nlohmann::json::array())},
                        {"chain", b.value("chain", nlohmann::json::array())}};
    if (seen.insert(x.dump()).second) blockers.push_back(x);
  }
  for (const auto& e : r.blocked_by) blockers.push_back(e);
  return blockers;
}

nlohmann::json top_stacks(const Recording& r, bool offcpu, int top) {
  std::vector<const StackSum*> v;
  for (const auto& [k, s] : r.stacks)
    if ((s.kind == "offcpu") == offcpu) v.push_back(&s);
  std::stable_sort(v.begin(), v.end(), [](const StackSum* a, const StackSum* b) { return a->weight > b->weight; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < v.size() && static_cast<int>(i) < top; ++i)
    out.push_back({{offcpu ? "weight_ns" : "samples", v[i]->weight},
                   {"class", v[i]->cls},
                   {"lower_bound", v[i]->lower_bound},
                   {"backend_type", v[i]->backend_type},
                   {"frames", v[i]->frames},
                   {"short", short_stack(v[i]->frames, 8)}});
  return out;
}

}  // namespace

nlohmann::json report_json(const Recording& r, int top) {
  nlohmann::json j;
  j["meta"] = r.meta;
  j["pid"] = r.pid ? nlohmann::json(r.pid) : nlohmann::json(nullptr);
  j["duration_s"] = r.last_ts > r.first_ts ? round1(static_cast<double>(r.last_ts - r.first_ts) / 1e9) : 0.0;
  j["ended"] = r.ended;
  j["end_reason"] = r.end_reason;
  j["truncated"] = r.read.truncated;
  j["corrupt_records"] = r.read.damaged;
  const auto problems = describe(r.read);
  j["error"] = r.read.damaged ? nlohmann::json(problems.front()) : nlohmann::json(nullptr);
  j["problems"] = problems;
  j["snapshots"] = r.snapshots;
  j["lost"] = r.counters.value("lost", nlohmann::json::object());
  j["ring_drops_by_probe"] = r.counters.value("ring_drops_by_probe", nlohmann::json::object());
  j["processes"] = r.processes.size();
  j["build_ids"] = r.build_ids;
  j["processes_with_maps"] = r.processes_with_maps;

  nlohmann::json stalls = nlohmann::json::array(), by_kind = nlohmann::json::object();
  std::map<int, nlohmann::json> timelines;
  for (const auto& s : r.stalls) {
    nlohmann::json x = stall_json(s);
    stalls.push_back(x);
    auto& k = by_kind[s.kind];
    if (k.is_null()) k = {{"count", 0}, {"total_s", 0.0}, {"longest_s", 0.0}, {"lower_bound", false}};
    k["count"] = k["count"].get<int>() + 1;
    k["total_s"] = round1(k["total_s"].get<double>() + s.duration_s);
    // The longest's bound carries: "longest ≥8.0s".
    const double d = round1(s.duration_s), longest = k["longest_s"].get<double>();
    if (d > longest) k["lower_bound"] = s.lower_bound;
    else if (d == longest) k["lower_bound"] = k["lower_bound"].get<bool>() || s.lower_bound;
    k["longest_s"] = std::max(d, longest);
    timelines[s.pid].push_back(std::move(x));
  }
  j["stalls"] = stalls;
  j["stalls_by_kind"] = by_kind;
  nlohmann::json tl = nlohmann::json::object();
  for (auto& [pid, v] : timelines) tl[std::to_string(pid)] = v;
  j["timelines"] = tl;
  j["blockers"] = blockers_json(r);
  j["deadlocks"] = r.deadlocks;

  std::map<std::string, std::pair<uint64_t, bool>> by_class;  // weight, lower bound
  uint64_t oncpu_samples = 0;
  for (const auto& [k, s] : r.stacks) {
    if (s.kind == "offcpu") {
      by_class[s.cls].first += s.weight;
      by_class[s.cls].second = by_class[s.cls].second || s.lower_bound;
    } else {
      oncpu_samples += s.weight;
    }
  }
  nlohmann::json classes = nlohmann::json::object();
  for (const auto& [c, w] : by_class)
    classes[c] = {{"weight_ns", w.first}, {"seconds", round1(w.first / 1e9)}, {"lower_bound", w.second}};
  j["offcpu_by_class"] = classes;
  j["oncpu_samples"] = oncpu_samples;
  j["top_offcpu"] = top_stacks(r, true, top);
  j["top_oncpu"] = top_stacks(r, false, top);
  return j;
}

namespace {

// How the recording ended, as far as the file tells.
std::string ending(const Recording& r) {
  if (r.ended) return fmt::format("stopped: {}", r.end_reason);
  if (r.read.truncated) return "no end record: the recorder stopped mid-record (killed, or the disk filled)";
  if (!r.read.damage.empty() && r.read.damage.back().offset + r.read.damage.back().bytes == r.read.size)
    return "no end record: the file is corrupt from its last readable record on";
  return "no end record: the recorder was killed between records, or the file is still being written";
}

std::string timeline_text(const nlohmann::json& list) {
  std::string who;
  for (const auto& s : list)
    if (who.empty()) who = user_at_db(s);
  std::string out = fmt::format("  pid {} {}{}\n", list[0].value("pid", 0), list[0].value("backend_type", ""),
                                who.empty() ? "" : " " + who);
  for (const auto& s : list) {
    std::string end = s["ended"].get<bool>()
                          ? (s["woken_by"].is_null() ? "ended" : fmt::format("ended, woken by pid {}", s["woken_by"].dump()))
                          : "still in flight at the end";
    std::string incomplete;
    if (auto lost = s.find("input_lost"); lost != s.end()) {
      const auto [each, total] = lost_text(*lost);
      incomplete = fmt::format(" (input incomplete: {} ring record{} lost: {})", total, total == 1 ? "" : "s", each);
    }
    out += fmt::format("    {} {} {}{:.1f}s — {} [{}]{}\n", s.value("since", ""), s.value("kind", ""),
                       s.value("lower_bound", false) ? "≥" : "", s["duration_s"].get<double>(), s.value("summary", ""),
                       end, incomplete);
    if (auto q = s.find("query"); q != s.end() && q->is_object())
      out += fmt::format("      query ({:.0f}s): {}\n", get_or<double>(*q, "running_s", 0),
                         one_line(get_or<std::string>(*q, "text", ""), 160, get_or<bool>(*q, "truncated", false)));
    if (s.contains("stack")) out += fmt::format("      stack: {}\n", short_stack(frames_of(s, "stack"), 10));
  }
  return out;
}

}  // namespace

std::string report_text(const Recording& r, int top) {
  const auto j = report_json(r, top);
  std::string out;
  const auto& m = r.meta;
  out += fmt::format("Recorded on {} (kernel {}) by pgstall {}, from {} for {:.1f}s; {}\n", m.value("host", "?"),
                     m.value("kernel", "?"), m.value("pgstall", "?"), m.value("started", "?"),
                     j["duration_s"].get<double>(), ending(r));
  for (const auto& p : j["problems"]) out += fmt::format("! {}\n", p.get<std::string>());
  if (r.pid) out += fmt::format("Only pid {}: its stalls, its stacks, the blocking that names it.\n", r.pid);
  std::string lost;
  for (const auto& [k, v] : j["lost"].items()) {
    lost += fmt::format(" {}={}", k, v.dump());
    if (k == "ring_drops" && !j["ring_drops_by_probe"].empty())
      lost += fmt::format(" ({})", lost_text(j["ring_drops_by_probe"]).first);
  }
  out += fmt::format("{} processes, {} snapshots; lost:{}\n", j["processes"].get<size_t>(), r.snapshots,
                     lost.empty() ? " nothing" : lost);

  out += fmt::format("\nSTALLS ({})\n", j["stalls"].size());
  if (j["stalls"].empty()) out += "  none flagged\n";
  for (const auto& [kind, k] : j["stalls_by_kind"].items())
    out += fmt::format("  {:<12} {:>3} stalls, {:>8.1f}s in all, longest {}{:.1f}s\n", kind, k["count"].get<int>(),
                       k["total_s"].get<double>(), k["lower_bound"].get<bool>() ? "≥" : "", k["longest_s"].get<double>());

  if (!j["timelines"].empty()) out += "\nBY BACKEND\n";
  for (const auto& [pid, list] : j["timelines"].items()) out += timeline_text(list);
  if (!j["blockers"].empty() || !j["deadlocks"].empty()) out += "\nWHO BLOCKED WHOM\n";
  for (const auto& b : j["blockers"]) {
    std::string holders, chain;
    for (const auto& h : b.value("holders", nlohmann::json::array()))
      holders += fmt::format("{}pid {}", holders.empty() ? "" : ", ", h.is_object() ? get_or<int>(h, "pid", 0) : 0);
    for (const auto& c : b.value("chain", nlohmann::json::array())) chain += (chain.empty() ? "" : " -> ") + c.dump();
    if (holders.empty())
      for (const auto& h : b.value("blocked_by", nlohmann::json::array())) holders += (holders.empty() ? "pid " : ", pid ") + h.dump();
    out += fmt::format("  pid {} blocked by {}{}\n", get_or<int>(b, "pid", 0), holders.empty() ? "?" : holders,
                       chain.empty() ? "" : "; chain " + chain);
  }
  for (const auto& d : j["deadlocks"])
    out += fmt::format("  DEADLOCK found by pid {} at {}; other lock waiters: {}\n", get_or<int>(d, "pid", 0),
                       get_or<std::string>(d, "at", ""), d.value("others", nlohmann::json::array()).dump());

  out += "\nOFF-CPU TIME BY WAIT CLASS\n";
  if (j["offcpu_by_class"].empty()) out += "  no off-CPU stacks recorded\n";
  uint64_t total = 0;
  for (const auto& [c, v] : j["offcpu_by_class"].items()) total += v["weight_ns"].get<uint64_t>();
  for (const auto& [c, v] : j["offcpu_by_class"].items())
    out += fmt::format("  {:<8} {:>10}  {:>5.1f}%\n", c,
                       (v.value("lower_bound", false) ? "≥" : "") + weight_s(v["weight_ns"].get<uint64_t>()),
                       total ? 100.0 * v["weight_ns"].get<uint64_t>() / total : 0.0);
  out += fmt::format("\nTOP OFF-CPU STACKS (leaf first)\n");
  for (const auto& t : j["top_offcpu"])
    out += fmt::format("  {:>9} {:<7} {:<16} {}\n",
                       (t.value("lower_bound", false) ? "≥" : "") + weight_s(t["weight_ns"].get<uint64_t>()),
                       t.value("class", ""),
                       t.value("backend_type", ""), t.value("short", ""));
  out += fmt::format("\nTOP ON-CPU STACKS ({} samples{})\n", j["oncpu_samples"].get<uint64_t>(),
                     m.value("oncpu_hz", 0) ? fmt::format(" at {} Hz", m.value("oncpu_hz", 0)) : "");
  for (const auto& t : j["top_oncpu"])
    out += fmt::format("  {:>6} {:<16} {}\n", t["samples"].get<uint64_t>(), t.value("backend_type", ""),
                       t.value("short", ""));
  return out;
}

}  // namespace pgstall::record
