// The live view: rows in order, a lock queue shown under its root.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "detect/fixtures.h"
#include "output/rows.h"
#include "output/view.h"

using namespace pgstall;
using namespace pgstall::testing;

namespace {

model::LockWaitRead relation_wait(int mode, std::vector<model::LockHolder> blockers) {
  model::LockWaitRead r;
  r.waiting = true;
  r.tag.type = "relation";
  r.tag.field = {5, 16384, 0, 0};
  r.tag.mode = mode;
  r.blockers = std::move(blockers);
  return r;
}

// The queue (R sending to a client that stopped reading, holding
// AccessShareLock; A's ALTER TABLE behind it; readers W1, W2 behind A), an
// unrelated stall X, an idle session I and the checkpointer C.
struct Fixture {
  static constexpr int R = 4200, A = 4201, W1 = 4202, W2 = 4203, X = 4100, I = 4000, C = 3999;
  std::vector<model::Snapshot> snaps;
  std::map<int, model::Process> procs;

  Fixture() {
    auto add = [&](model::Snapshot s, model::ProcessTitle t) {
      s.title = t;
      model::Process p;
      p.pid = s.pid;
      p.title = t;
      procs[s.pid] = p;
      snaps.push_back(std::move(s));
    };
    model::ProcessTitle checkpointer;
    checkpointer.type = model::BackendType::Checkpointer;
    checkpointer.raw = "postgres: checkpointer";
    add(sleeping_in(C, "epoll_wait", kT0), checkpointer);
    add(sleeping_in(I, "epoll_wait", kT0), client("idle", model::ClientState::Idle));
    add(sleeping_in(X, "pwrite64", kT0, 'D'), client("COMMIT", model::ClientState::Active));
    // Listed out of queue order: the view puts them in it.
    model::Snapshot w2 = sleeping_in(W2, "epoll_wait", kT0);
    w2.shm_lock = relation_wait(1, {{A, 0, 8}});
    add(w2, client("SELECT", model::ClientState::Active, true));
    model::Snapshot a = sleeping_in(A, "epoll_wait", kT0);
    a.shm_lock = relation_wait(8, {{R, 1u << 1}});
    add(a, client("ALTER TABLE", model::ClientState::Active, true));
    model::Snapshot w1 = sleeping_in(W1, "epoll_wait", kT0);
    w1.shm_lock = relation_wait(1, {{A, 0, 8}});
    add(w1, client("SELECT", model::ClientState::Active, true));
    add(waiting_on(R, "Client", "ClientWrite", kT0), client("COPY", model::ClientState::Active));
  }

  std::vector<output::ViewRow> rows(const std::set<int>& stalled) const {
    output::Rates rates;
    return output::view_rows(kT0 + 10 * kSec, snaps,
                             [this](int pid) -> const model::Process* {
                               auto it = procs.find(pid);
                               return it == procs.end() ? nullptr : &it->second;
                             },
                             rates, stalled);
  }
};

std::vector<int> pids(const std::vector<output::ViewRow>& rows) {
  std::vector<int> out;
  for (const auto& r : rows) out.push_back(r.pid);
  return out;
}

std::vector<std::string> lines_of(const std::string& screen) {
  std::vector<std::string> out;
  std::istringstream in(screen);
  std::string l;
  while (std::getline(in, l)) out.push_back(l);
  return out;
}

const std::string* line_with_pid(const std::vector<std::string>& lines, int pid) {
  const std::string key = " " + std::to_string(pid) + " ";
  for (const auto& l : lines)
    if (l.find(key) != std::string::npos && l.find("STALL") == std::string::npos) return &l;
  return nullptr;
}

}  // namespace

TEST(ViewRows, AQueueComesAsOneGroupUnderItsRoot) {
  Fixture f;
  const auto rows = f.rows({Fixture::A, Fixture::W1, Fixture::W2, Fixture::X});
  // The root first (not stalled itself: it is the cause), its ALTER, the
  // readers under the ALTER; then the other stall; then the rest, as listed.
  EXPECT_EQ(pids(rows), (std::vector<int>{Fixture::R, Fixture::A, Fixture::W1, Fixture::W2, Fixture::X, Fixture::C,
                                          Fixture::I}));
  EXPECT_EQ(rows[0].queue_depth, 0);
  EXPECT_EQ(rows[0].queue_waiting, 3u);
  EXPECT_FALSE(rows[0].stalled);
  EXPECT_EQ(rows[1].queue_depth, 1);
  EXPECT_EQ(rows[2].queue_depth, 2);
  EXPECT_EQ(rows[3].queue_depth, 2);
  EXPECT_EQ(rows[4].queue_depth, -1);
  EXPECT_EQ(rows[0].wait, "Client:ClientWrite");
}

TEST(ViewRows, AQueueWithNoStalledWaiterIsNotGrouped) {
  Fixture f;
  const auto rows = f.rows({Fixture::X});
  EXPECT_EQ(rows[0].pid, Fixture::X);
  for (const auto& r : rows) EXPECT_EQ(r.queue_depth, -1) << r.pid;
}

TEST(ViewRender, TheRootIsMarkedAndItsWaitersIndentedUnderIt) {
  Fixture f;
  const auto rows = f.rows({Fixture::A, Fixture::W1, Fixture::W2, Fixture::X});
  output::ViewHeader h;
  h.clock = "12:00:00";
  h.processes = rows.size();
  const std::string screen = output::render_view(h, {"STALL lock-sleep 6.0s pid 4201 …"}, rows, 200, 40);
  const auto lines = lines_of(screen);
  const std::string* root = line_with_pid(lines, Fixture::R);
  const std::string* alter = line_with_pid(lines, Fixture::A);
  const std::string* reader = line_with_pid(lines, Fixture::W2);
  const std::string* other = line_with_pid(lines, Fixture::X);
  ASSERT_TRUE(root && alter && reader && other) << screen;
  EXPECT_NE(root->find("● client backend"), std::string::npos) << *root;
  EXPECT_NE(root->find("[holds up 3] postgres: app shop [local] COPY"), std::string::npos)
      << *root;
  EXPECT_NE(root->find("\x1b[1;31m"), std::string::npos) << "the root is highlighted: " << *root;
  EXPECT_NE(alter->find(" 4201 └ client backend"), std::string::npos) << *alter;
  EXPECT_NE(reader->find(" 4203   └ client backend"), std::string::npos) << *reader;
  EXPECT_EQ(other->find("└"), std::string::npos) << *other;
  EXPECT_EQ(other->find("●"), std::string::npos) << *other;
  // Columns stay aligned: the state column follows a 20-wide type column.
  EXPECT_NE(alter->find("└ client backend     S "), std::string::npos) << *alter;
  EXPECT_NE(reader->find("  └ client backend   S "), std::string::npos) << *reader;
  // In that order on screen.
  EXPECT_LT(root, alter);
  EXPECT_LT(alter, reader);
  EXPECT_LT(reader, other);
}
