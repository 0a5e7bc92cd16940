#include "capture/waits.h"

namespace pgstall::capture {

TargetWaits::TargetWaits(const std::set<std::string>& targets) : any_server_(targets.empty()) {
  if (any_server_) targets_[""];
  for (const auto& t : targets) targets_[t];
}

std::vector<TargetWaits::Began> TargetWaits::update(const std::map<int, std::string>& postmasters) {
  std::map<std::string, std::set<int>> now;
  for (const auto& [pid, target] : postmasters) now[any_server_ ? "" : target].insert(pid);
  std::vector<Began> out;
  for (auto& [target, st] : targets_) {
    auto it = now.find(target);
    if (it != now.end()) {
      st.waiting = false;
      st.last = it->second;
    } else if (!st.waiting) {
      st.waiting = true;
      out.push_back({target, st.seen ? std::vector<int>(st.last.begin(), st.last.end()) : std::vector<int>{}});
    }
    st.seen = true;
  }
  return out;
}

bool TargetWaits::any() const {
  for (const auto& [t, st] : targets_)
    if (st.waiting) return true;
  return false;
}

std::vector<std::string> TargetWaits::waiting() const {
  std::vector<std::string> out;
  for (const auto& [t, st] : targets_)
    if (st.waiting) out.push_back(t);
  return out;
}

}  // namespace pgstall::capture
