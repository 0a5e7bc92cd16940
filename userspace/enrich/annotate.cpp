#include "enrich/annotate.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "detect/kind.h"
#include "detect/registry.h"
#include "model/blocking.h"
#include "model/syscalls.h"

namespace pgstall::enrich {
namespace {

bool is_idle_in_tx(const model::ProcessTitle& t) {
  return t.state == model::ClientState::IdleInTransaction || t.state == model::ClientState::IdleInTransactionAborted;
}

const model::Snapshot* find_pid(const std::vector<model::Snapshot>& all, int pid) {
  for (const auto& s : all)
    if (s.pid == pid && !s.exited) return &s;
  return nullptr;
}

// A wait event seen again within this long of its last sighting is the same
// wait: a latch wait wakes, finds nothing to do and sleeps again, showing no
// event for a moment.
constexpr uint64_t kSameWaitNs = 1'000'000'000ull;

std::optional<double> since_s(uint64_t since, uint64_t now) {
  if (!since) return std::nullopt;
  return detect::secs(since, now);
}

double tenths(double s) { return std::round(s * 10) / 10; }

}  // namespace

std::string span_text(double s) {
  if (s < 120) return fmt::format("{:.0f}s", s);
  if (s < 7200) return fmt::format("{:.0f} min", s / 60);
  return fmt::format("{:.1f} h", s / 3600);
}

std::string Doing::text() const { return what + (for_s ? " " + span_text(*for_s) : "") + after; }

void Annotator::observe(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  std::set<int> present;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    present.insert(s.pid);
    Clocks& c = clocks_[s.pid];
    if (c.start_ticks != s.start_ticks) {  // another process under this pid
      c = Clocks{};
      c.start_ticks = s.start_ticks;
      idle_tx_since_.erase(s.pid);
    }
    tick_clocks(now, s, c);
    if (!is_idle_in_tx(s.title)) {
      idle_tx_since_.erase(s.pid);
      continue;
    }
    if (idle_tx_since_.count(s.pid)) continue;
    // Idle means waiting for the client: the poll it sits in started the idle time.
    uint64_t since = now;
    if (s.in_syscall && model::syscall_class(s.sc_nr) == model::SyscallClass::Poll && s.sc_start_ns < now)
      since = s.sc_start_ns;
    idle_tx_since_[s.pid] = since;
  }
  std::erase_if(idle_tx_since_, [&](const auto& kv) { return !present.count(kv.first); });
  std::erase_if(clocks_, [&](const auto& kv) { return !present.count(kv.first); });
}

void Annotator::tick_clocks(uint64_t now, const model::Snapshot& s, Clocks& c) {
  // A change seen now happened since the last look; a process asleep since
  // after that look (or since before pgstall first saw it) began it when it
  // went to sleep.
  const bool asleep_since_last = !s.on_cpu && s.offcpu_since_ns && s.offcpu_since_ns < now &&
                                 s.offcpu_since_ns >= c.seen;
  const uint32_t we = s.wait_event_info.value_or(0);
  if (we && !(we == c.wait_event && now - c.wait_seen <= kSameWaitNs)) {
    c.wait_event = we;
    c.wait_since = asleep_since_last ? s.offcpu_since_ns : now;
  }
  if (we) c.wait_seen = now;
  const std::string statement = std::string(model::client_state_name(s.title.state)) + "|" + s.title.command;
  if (statement != c.statement || !c.statement_since) {
    c.statement = statement;
    c.statement_since = now;
  }
  c.seen = now;
}

void Annotator::observe_stalls(const std::vector<detect::Stall>& active) {
  std::map<int, std::pair<std::string, uint64_t>> now;
  for (const auto& st : active)
    if (st.kind != detect::kLockSleep && !now.count(st.pid)) now[st.pid] = {st.kind, st.since_ns};
  stalled_ = std::move(now);
}

Doing Annotator::doing(uint64_t now, const model::Snapshot& o) const {
  const auto we = model::wait_event_of(o);
  auto clock = clocks_.find(o.pid);
  const Clocks* c = clock == clocks_.end() ? nullptr : &clock->second;
  auto wait_s = [&]() -> std::optional<double> {
    if (!c || !o.wait_event_info || c->wait_event != *o.wait_event_info) return std::nullopt;
    return since_s(c->wait_since, now);
  };
  // The statement's start, exact when --queries reports it.
  auto statement_s = [&]() -> std::optional<double> {
    if (o.pg.query_since_ns) return since_s(o.pg.query_since_ns, now);
    return c ? since_s(c->statement_since, now) : std::nullopt;
  };
  const std::string command = o.title.command.empty() ? "a statement" : o.title.command;
  if (we && we->type == "Client" && we->name == "ClientWrite") return {"blocked sending to its client", wait_s(), ""};
  if (o.shm_lock) return {"itself waiting for " + model::describe_lock(o.shm_lock->tag), std::nullopt, ""};
  if (we && we->type == "Lock") return {"itself waiting for a " + we->name + " lock", std::nullopt, ""};
  if (auto st = stalled_.find(o.pid); st != stalled_.end())
    return {"itself " + st->second.first, since_s(st->second.second, now), ""};
  if (is_idle_in_tx(o.title))
    return {std::string(model::client_state_name(o.title.state)), idle_in_transaction_s(o.pid, now), ""};
  if (o.title.state == model::ClientState::Idle) return {"idle", wait_s() ? wait_s() : statement_s(), ""};
  if (o.on_cpu) return {"running " + command, statement_s(), " on CPU"};
  if (we) return {"waiting on " + we->text(), wait_s(), ""};
  if (o.title.state == model::ClientState::Active) return {"running " + command, statement_s(), ""};
  if (o.title.type != model::BackendType::ClientBackend) return {std::string(model::backend_type_name(o.title.type)), std::nullopt, ""};
  return {std::string(model::client_state_name(o.title.state)), std::nullopt, ""};
}

std::optional<double> Annotator::idle_in_transaction_s(int pid, uint64_t now) const {
  auto it = idle_tx_since_.find(pid);
  if (it == idle_tx_since_.end()) return std::nullopt;
  return detect::secs(it->second, now);
}

void Annotator::annotate(detect::Stall& stall, uint64_t now, const std::vector<model::Snapshot>& snaps) const {
  const model::Snapshot* s = find_pid(snaps, stall.pid);
  if (!s) return;
  if (detect::wants(stall.kind, detect::kEnrichLockHolders)) lock_holders(stall, now, *s, snaps);
  if (detect::wants(stall.kind, detect::kEnrichPinHolders) && stall.detail.value("wait_event_type", "") == "BufferPin")
    pin_holders(stall, now, *s, snaps);
}

void Annotator::pin_holders(detect::Stall& st, uint64_t now, const model::Snapshot& s,
                            const std::vector<model::Snapshot>& all) const {
  // Idle in transaction first (an open cursor keeps its pin), longest idle
  // first; then the sessions running a statement.
  std::vector<std::pair<double, const model::Snapshot*>> cands;
  for (const auto& o : all) {
    if (o.pid == s.pid || o.exited || o.title.type != model::BackendType::ClientBackend) continue;
    if (!s.title.database.empty() && o.title.database != s.title.database) continue;
    if (auto idle = idle_in_transaction_s(o.pid, now))
      cands.emplace_back(*idle, &o);
    else if (o.title.state == model::ClientState::Active)
      cands.emplace_back(-1.0, &o);
  }
  std::stable_sort(cands.begin(), cands.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  nlohmann::json list = nlohmann::json::array();
  std::string text;
  for (const auto& [idle, o] : cands) {
    nlohmann::json j = {{"pid", o->pid}, {"state", model::client_state_name(o->title.state)}};
    std::string what = idle >= 0 ? fmt::format("idle in transaction {:.0f}s", idle) : "running " + o->title.command;
    if (idle >= 0) j["idle_s"] = std::round(idle * 10) / 10;
    else j["command"] = o->title.command;
    list.push_back(std::move(j));
    if (text.size() < 200) text += fmt::format("{}pid {} ({})", text.empty() ? "" : ", ", o->pid, what);
  }
  st.detail["pin_holder_candidates"] = std::move(list);
  st.summary += "; pin holder candidates: " + (text.empty() ? std::string("none seen in its database") : text);
}

void Annotator::lock_holders(detect::Stall& st, uint64_t now, const model::Snapshot& s,
                             const std::vector<model::Snapshot>& all) const {
  auto [candidates, ctext] = candidates_for(now, s, all);
  st.detail["holder_candidates"] = std::move(candidates);
  if (s.shm_lock) {
    auto [blocked_by, btext] = blockers_of(now, s, all);
    st.detail["blocked_by"] = std::move(blocked_by);
    st.summary += "; " + btext;
  } else {
    st.summary += "; holder candidates: " + (ctext.empty() ? std::string("none idle in transaction") : ctext);
  }
}

std::pair<nlohmann::json, std::string> Annotator::candidates_for(uint64_t now, const model::Snapshot& s,
                                                                 const std::vector<model::Snapshot>& all) const {
  std::vector<std::pair<double, const model::Snapshot*>> cands;
  for (const auto& o : all) {
    if (o.pid == s.pid || o.exited || !is_idle_in_tx(o.title)) continue;
    cands.emplace_back(idle_in_transaction_s(o.pid, now).value_or(0), &o);
  }
  // Same database first, then the longest idle: the likeliest holders.
  std::sort(cands.begin(), cands.end(), [&](const auto& a, const auto& b) {
    bool sa = a.second->title.database == s.title.database, sb = b.second->title.database == s.title.database;
    if (sa != sb) return sa;
    return a.first > b.first;
  });
  nlohmann::json holders = nlohmann::json::array();
  std::string text;
  for (const auto& [idle, o] : cands) {
    holders.push_back({{"pid", o->pid},
                       {"state", model::client_state_name(o->title.state)},
                       {"idle_s", std::round(idle * 10) / 10},
                       {"database", o->title.database},
                       {"user", o->title.user}});
    if (text.size() < 200)
      text += fmt::format("{}pid {} ({} {:.0f}s)", text.empty() ? "" : ", ", o->pid,
                          model::client_state_name(o->title.state), idle);
  }
  return {holders, text};
}

std::pair<nlohmann::json, std::string> Annotator::blocker(uint64_t now, const model::LockHolder& h,
                                                          const std::map<int, const model::Snapshot*>& by_pid) const {
  const std::string modes = h.queued() ? model::lock_mode_text(h.wants) : model::lock_mask_text(h.hold_mask);
  nlohmann::json j = {{"pid", h.pid}, {h.queued() ? "wants" : "holds", modes}};
  std::string doing;
  if (h.pid == 0) j["doing"] = doing = "prepared transaction";
  if (auto it = by_pid.find(h.pid); it != by_pid.end()) {
    const model::Snapshot& o = *it->second;
    j["state"] = model::client_state_name(o.title.state);
    if (auto idle = idle_in_transaction_s(h.pid, now)) j["idle_s"] = tenths(*idle);
    if (auto we = model::wait_event_of(o)) j["wait_event"] = we->text();
    const Doing d = this->doing(now, o);
    j["doing"] = d.what + d.after;
    if (d.for_s) j["for_s"] = tenths(*d.for_s);
    // A waiter queued ahead waits for this same lock: the mode it wants says it.
    if (!h.queued()) doing = d.text();
  }
  return {j, fmt::format("pid {} ({}{}{}{})", h.pid, h.queued() ? "wants " : "", modes, doing.empty() ? "" : ", ",
                         doing)};
}

std::pair<nlohmann::json, std::string> Annotator::blockers_of(uint64_t now, const model::Snapshot& s,
                                                              const std::vector<model::Snapshot>& all) const {
  std::map<int, const model::Snapshot*> by_pid;
  for (const auto& o : all)
    if (!o.exited) by_pid[o.pid] = &o;
  const auto chain = model::blocking_chain(s.pid, model::shared_memory_waits(all));
  const bool cycle = std::find(chain.begin(), chain.end() - 1, chain.back()) != chain.end() - 1;
  nlohmann::json holders = nlohmann::json::array(), queued = nlohmann::json::array(), order = nlohmann::json::array();
  std::string held, ahead;  // the words for each kind, comma-separated
  for (const auto& h : s.shm_lock->blockers) {
    auto [j, words] = blocker(now, h, by_pid);
    order.push_back(h.pid);
    (h.queued() ? queued : holders).push_back(std::move(j));
    std::string& list = h.queued() ? ahead : held;
    if (list.size() < 200) list += (list.empty() ? "" : ", ") + words;
  }
  nlohmann::json j = {{"source", "shared_memory"}, {"holders", holders}, {"queued_behind", queued},
                      {"blocking_pids", order}, {"chain", chain}};
  if (order.empty()) return {j, "no conflicting holder or waiter ahead of it in the lock table"};
  std::string c;
  for (int p : chain) c += (c.empty() ? "" : " -> ") + std::to_string(p);
  // The root: where the chain ends, described from the step before it.
  std::string root_words;
  if (auto before = by_pid.find(chain.size() >= 2 ? chain[chain.size() - 2] : 0);
      !cycle && before != by_pid.end() && before->second->shm_lock) {
    for (const auto& h : before->second->shm_lock->blockers)
      if (h.pid == chain.back()) {
        std::tie(j["root"], root_words) = blocker(now, h, by_pid);
        break;
      }
  }
  std::string text;
  if (chain.size() > 2 && !cycle && !root_words.empty()) {
    // Held up further along: the root first, then what is directly in its way.
    text = "blocked by " + root_words + "; chain " + c;
    if (!held.empty()) text += "; waits for " + held;
    if (!ahead.empty()) text += "; queued behind " + ahead;
    return {j, text};
  }
  if (!held.empty()) text = "blocked by " + held;
  if (!ahead.empty()) text += (text.empty() ? "" : "; ") + std::string("queued behind ") + ahead;
  if (chain.size() > 2) {
    text += "; chain " + c;
    if (cycle) text += " (a cycle: a deadlock the server has not yet broken)";
  }
  return {j, text};
}

}  // namespace pgstall::enrich
