#pragma once
// Which targets have no running postmaster, so pgstall waits for one: said
// once when the wait begins — at the start, or when the last postmaster of a
// target exits — and not again until a postmaster has run in between. Pure
// (unit-tested): fed the tracked postmasters after every change.
#include <map>
#include <set>
#include <string>
#include <vector>

namespace pgstall::capture {

class TargetWaits {
 public:
  // targets: the chosen data directories; none: any server on this machine
  // (the one target "").
  explicit TargetWaits(const std::set<std::string>& targets);

  struct Began {
    std::string target;      // "" : any server on this machine
    std::vector<int> exited; // its postmasters that went away; empty: none ran since pgstall started
  };
  // postmasters: each tracked postmaster's target. Returns the waits that
  // begin now.
  std::vector<Began> update(const std::map<int, std::string>& postmasters);
  // Some target has no postmaster (after the first update).
  bool any() const;
  std::vector<std::string> waiting() const;

 private:
  struct State {
    bool seen = false;     // updated at least once
    bool waiting = false;
    std::set<int> last;    // its postmasters when it last had any
  };
  bool any_server_;
  std::map<std::string, State> targets_;
};

}  // namespace pgstall::capture
