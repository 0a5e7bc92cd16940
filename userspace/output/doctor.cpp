#include "output/doctor.h"

#include <cctype>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "output/view.h"

namespace pgstall::output {
namespace {

using model::doctor::Check;
using model::doctor::Level;
using model::doctor::Report;

// Columns a UTF-8 string takes: the live view's measure.
size_t columns(const std::string& s) { return static_cast<size_t>(display_width(s)); }

// `first` + text, wrapped at spaces to `width` columns, following lines
// indented by `indent` columns. A word longer than a line stays whole.
void wrap(std::ostream& out, const std::string& first, const std::string& text, size_t indent, size_t width) {
  std::string line = first;
  size_t used = columns(first);
  bool empty = first.empty() || first.back() == ' ';  // no space owed before the first word
  std::istringstream words(text);
  std::string word;
  while (words >> word) {
    const size_t w = columns(word);
    if (!empty && used + 1 + w > width) {
      out << line << "\n";
      line = std::string(indent, ' ');
      used = indent;
      empty = true;
    }
    if (!empty) {
      line += ' ';
      ++used;
    }
    line += word;
    used += w;
    empty = false;
  }
  out << line << "\n";
}

constexpr size_t kIndent = 5;  // "warn " and "fix" lines under it

void checks(std::ostream& out, const std::vector<Check>& list, std::set<std::string>& fixes_said, size_t width) {
  for (const auto& c : list) {
    wrap(out, fmt::format("{:<4} {}:", model::doctor::level_name(c.level), c.name), c.detail, kIndent, width);
    if (!c.fix.empty() && fixes_said.insert(c.fix).second)
      wrap(out, std::string(kIndent, ' ') + "fix:", c.fix, kIndent + 5, width);
  }
}

// "ok", "note", "skip", "warn", "fail"
std::string json_level(Level l) {
  std::string s = model::doctor::level_name(l);
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

nlohmann::json checks_json(const std::vector<Check>& list) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& c : list)
    a.push_back({{"name", c.name},
                 {"level", json_level(c.level)},
                 {"detail", c.detail},
                 {"fix", c.fix.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.fix)}});
  return a;
}

template <typename T>
nlohmann::json optional_json(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json kernel_json(const model::doctor::KernelFacts& k) {
  nlohmann::json probes = nlohmann::json::array(), features = nlohmann::json::array();
  for (const auto& p : k.probes)
    probes.push_back({{"name", p.name},
                      {"required", p.required},
                      {"loaded", p.loaded},
                      {"attached", p.attached},
                      {"on_demand", p.on_demand},
                      {"fired", p.fired},
                      {"error", p.error}});
  for (const auto& f : k.features)
    features.push_back({{"name", f.name}, {"works", optional_json(f.works)}, {"why", f.why}});
  return {{"release", k.release},
          {"machine", k.machine},
          {"btf", k.btf},
          {"tracepoints", k.tracepoints},
          {"tracepoints_missing", k.tracepoints_missing},
          {"load_tried", k.load_tried},
          {"load_error", k.load_error},
          {"probes", probes},
          {"degradations", k.degradations},
          {"features", features}};
}

nlohmann::json permissions_json(const model::doctor::PermissionFacts& p) {
  return {{"euid", p.euid},
          {"cap_bpf", p.cap_bpf},
          {"cap_perfmon", p.cap_perfmon},
          {"cap_sys_admin", p.cap_sys_admin},
          {"cap_sys_ptrace", p.cap_sys_ptrace},
          {"perf_event_paranoid", optional_json(p.perf_event_paranoid)},
          {"unprivileged_bpf_disabled", optional_json(p.unprivileged_bpf_disabled)},
          {"ptrace_scope", optional_json(p.ptrace_scope)},
          {"lockdown", p.lockdown.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.lockdown)},
          {"memlock_bytes", optional_json(p.memlock_bytes)}};
}

nlohmann::json cluster_json(const model::doctor::ClusterReport& cr) {
  const auto& c = cr.facts;
  int attached = 0;
  for (const auto& u : c.usdt) attached += u.attached;
  auto or_null = [](const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); };
  return {{"pid", c.pid},
          {"data_dir", or_null(c.data_dir)},
          {"pg_major", c.pg_major ? nlohmann::json(c.pg_major) : nlohmann::json(nullptr)},
          {"binary", or_null(c.binary)},
          {"binary_error", or_null(c.binary_error)},
          {"from_cmdline", c.from_cmdline},
          {"usdt_probes", c.usdt_probes},
          {"usdt_sites", c.usdt_sites},
          {"usdt_attach_tried", c.usdt_attach_tried},
          {"usdt_attached", attached},
          {"symtab", c.has_symtab},
          {"dynsym", c.has_symbols},
          {"build_id", or_null(c.build_id)},
          {"debug_file", or_null(c.debug_file)},
          {"wait_event_unsupported", or_null(c.wait_event_unsupported)},
          {"wait_event_names", c.wait_event_names},
          {"probe_pid", c.probe_pid ? nlohmann::json(c.probe_pid) : nlohmann::json(nullptr)},
          {"probe_type", or_null(c.probe_type)},
          {"wait_event", or_null(c.wait_event_read)},
          {"wait_event_error", or_null(c.wait_event_error)},
          {"lock_layout", c.lock_layout},
          {"pgproc_checked", c.pgproc_tried && c.pgproc_error.empty()},
          {"pgproc_error", or_null(c.pgproc_error)},
          {"mode", cr.mode},
          {"checks", checks_json(cr.checks)}};
}

}  // namespace

std::string doctor_text(const Report& r, size_t width) {
  std::ostringstream out;
  std::set<std::string> fixes;
  const auto& k = r.facts.kernel;
  out << fmt::format("pgstall doctor {} — Linux {} {}\n", r.facts.version, k.release, k.machine);
  // Permissions first: as another user their fix (run as root) is the one
  // that matters, and each fix is said under the first check that needs it.
  out << "permissions\n";
  checks(out, r.permissions, fixes, width);
  out << "kernel\n";
  checks(out, r.kernel, fixes, width);
  if (!r.targets.empty()) {
    out << "clusters\n";
    checks(out, r.targets, fixes, width);
  }
  for (const auto& c : r.clusters) {
    wrap(out, fmt::format("cluster: postmaster {},", c.facts.pid),
         c.facts.data_dir.empty() ? "data directory unknown" : c.facts.data_dir, kIndent, width);
    checks(out, c.checks, fixes, width);
    wrap(out, "mode:", c.mode, kIndent, width);
  }
  wrap(out, "verdict:", r.verdict(), kIndent, width);
  return out.str();
}

nlohmann::json doctor_json(const Report& r) {
  nlohmann::json clusters = nlohmann::json::array();
  for (const auto& c : r.clusters) clusters.push_back(cluster_json(c));
  return {{"type", "doctor"},
          {"version", r.facts.version},
          {"kernel", kernel_json(r.facts.kernel)},
          {"permissions", permissions_json(r.facts.permissions)},
          {"checks", {{"kernel", checks_json(r.kernel)},
                      {"permissions", checks_json(r.permissions)},
                      {"clusters", checks_json(r.targets)}}},
          {"clusters", clusters},
          {"worst", json_level(r.worst)},
          {"verdict", r.verdict()},
          {"exit_code", r.exit_code()}};
}

}  // namespace pgstall::output
