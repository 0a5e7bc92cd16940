#include "enrich/annotate.h"

#include <algorithm>
#include <cmath>
#include <set>

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

}  // namespace

void Annotator::observe(uint64_t now, const std::vector<model::Snapshot>& snaps) {
  std::set<int> present;
  for (const auto& s : snaps) {
    if (s.exited) continue;
    present.insert(s.pid);
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

std::pair<nlohmann::json, std::string> Annotator::blockers_of(uint64_t now, const model::Snapshot& s,
                                                              const std::vector<model::Snapshot>& all) const {
  std::map<int, const model::Snapshot*> by_pid;
  std::vector<model::BlockedBy> waits;
  for (const auto& o : all) {
    by_pid[o.pid] = &o;
    if (!o.shm_lock) continue;
    model::BlockedBy b;
    b.pid = o.pid;
    for (const auto& h : o.shm_lock->blockers) b.blocked_by.push_back(h.pid);
    waits.push_back(std::move(b));
  }
  nlohmann::json holders = nlohmann::json::array();
  std::string text;
  for (const auto& h : s.shm_lock->blockers) {
    nlohmann::json j = {{"pid", h.pid}, {"holds", model::lock_mask_text(h.hold_mask)}};
    std::string state = h.pid == 0 ? "prepared transaction" : "";
    if (auto it = by_pid.find(h.pid); it != by_pid.end()) {
      const model::Snapshot& o = *it->second;
      j["state"] = state = model::client_state_name(o.title.state);
      if (auto idle = idle_in_transaction_s(h.pid, now)) {
        j["idle_s"] = std::round(*idle * 10) / 10;
        state += fmt::format(" {:.0f}s", *idle);
      }
      if (o.shm_lock) state += ", itself waiting for " + model::describe_lock(o.shm_lock->tag);
    }
    holders.push_back(std::move(j));
    if (text.size() < 200)
      text += fmt::format("{}pid {} ({}{}{})", text.empty() ? "" : ", ", h.pid, model::lock_mask_text(h.hold_mask),
                          state.empty() ? "" : ", ", state);
  }
  const auto chain = model::blocking_chain(s.pid, waits);
  nlohmann::json j = {{"source", "shared_memory"}, {"holders", holders}, {"chain", chain}};
  if (holders.empty()) return {j, "no conflicting holder in the lock table (queued behind other waiters)"};
  text = "blocked by " + text;
  if (chain.size() > 2) {
    std::string c;
    for (int p : chain) c += (c.empty() ? "" : " -> ") + std::to_string(p);
    text += "; chain " + c;
    if (std::find(chain.begin(), chain.end() - 1, chain.back()) != chain.end() - 1)
      text += " (a cycle: a deadlock the server has not yet broken)";
  }
  return {j, text};
}

}  // namespace pgstall::enrich
