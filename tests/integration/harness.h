#pragma once
// Integration harness: runs the real pgstall binary against the throwaway
// cluster of scripts/pgcluster.sh and the stall scenarios of scripts/scenario,
// and reads what it prints. Needs root and a real kernel; nothing is mocked.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <algorithm>
#include <map>
#include <optional>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pgstall::itest {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

inline std::string source_dir() { return PGSTALL_SOURCE_DIR; }
inline std::string pgstall_binary() { return PGSTALL_BINARY; }

struct CmdResult {
  int status = -1;  // exit code, or -signal
  std::string out, err;
};

// Runs a shell command, capturing stdout and stderr.
inline CmdResult run(const std::string& cmd) {
  CmdResult r;
  char errfile[] = "/tmp/pgstall-itest-XXXXXX";
  int efd = mkstemp(errfile);
  close(efd);
  FILE* p = popen((cmd + " 2>" + errfile).c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
  if (FILE* f = fopen(errfile, "r")) {
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) r.err.append(buf, n);
    fclose(f);
  }
  unlink(errfile);
  return r;
}

inline std::map<std::string, std::string> parse_kv(const std::string& text) {
  std::map<std::string, std::string> kv;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq != std::string::npos && eq > 0) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return kv;
}

inline std::string script(const std::string& rel) { return source_dir() + "/scripts/" + rel; }

// The cluster is brought up once by the test command; `up` is idempotent, so
// a test run on its own brings it up too.
inline std::map<std::string, std::string> cluster_env(bool loop = true) {
  auto r = run(script("pgcluster.sh") + (loop ? " up --loop" : " up"));
  EXPECT_EQ(r.status, 0) << r.err;
  return parse_kv(r.out);
}

// The test cluster's postmaster, from its postmaster.pid (0 when unreadable).
inline int postmaster_pid(const std::map<std::string, std::string>& env) {
  auto it = env.find("PGSTALL_PGDATA");
  if (it == env.end()) return 0;
  std::ifstream f(it->second + "/postmaster.pid");
  int pid = 0;
  f >> pid;
  return pid;
}

inline std::string psql(const std::string& sql) {
  auto r = run(script("pgcluster.sh") + " psql -At -c \"" + sql + "\"");
  EXPECT_EQ(r.status, 0) << sql << ": " << r.err;
  while (!r.out.empty() && (r.out.back() == '\n' || r.out.back() == ' ')) r.out.pop_back();
  return r.out;
}

// A stall scenario, started by its script and always stopped.
class Scenario {
 public:
  explicit Scenario(std::string name, const std::string& env = "") : name_(std::move(name)) {
    auto r = run(env + " " + script("scenario/" + name_ + ".sh") + " start");
    started_ = r.status == 0;
    EXPECT_TRUE(started_) << name_ << " start failed: " << r.err;
    kv_ = parse_kv(r.out);
    ready_ = Clock::now();
  }
  ~Scenario() { stop(); }
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    auto r = run(script("scenario/" + name_ + ".sh") + " stop");
    EXPECT_EQ(r.status, 0) << name_ << " stop failed: " << r.err;
  }
  bool ok() const { return started_; }
  // A value it printed ("" when it did not).
  std::string kv(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? "" : it->second;
  }
  int pid(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? 0 : std::stoi(it->second);
  }
  std::string value(const std::string& key) const {
    auto it = kv_.find(key);
    return it == kv_.end() ? "" : it->second;
  }
  std::vector<int> pids(const std::string& key) const {
    std::vector<int> out;
    auto it = kv_.find(key);
    if (it == kv_.end()) return out;
    std::string list = it->second;
    std::replace(list.begin(), list.end(), ',', ' ');  // "1,2,3" or "1 2 3"
    std::stringstream ss(list);
    std::string tok;
    while (ss >> tok) out.push_back(std::stoi(tok));
    return out;
  }
  Clock::time_point ready() const { return ready_; }

 private:
  std::string name_;
  std::map<std::string, std::string> kv_;
  bool started_ = false, stopped_ = false;
  Clock::time_point ready_;
};

// `pgstall watch --json` in the background; lines are collected with the time
// they arrived.
class Watch {
 public:
  struct Line {
    Clock::time_point at;
    Json json;
  };

  // sub: "watch", or "record" (which takes --json too).
  explicit Watch(const std::vector<std::string>& extra_args, const std::string& sub = "watch") {
    int out[2];
    if (pipe(out) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
      std::vector<std::string> args = {pgstall_binary(), sub, "--json"};
      args.insert(args.end(), extra_args.begin(), extra_args.end());
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    fd_ = out[0];
    fcntl(fd_, F_SETFL, O_NONBLOCK);
    // Loaded and watching once the "start" line is out.
    started_ = wait_for([](const Json& j) { return j.value("type", "") == "start"; }, std::chrono::seconds(20))
                   .has_value();
  }

  ~Watch() { stop(); }

  bool started() const { return started_; }
  // Its process id while it runs (-1 after stop()).
  pid_t pid() const { return pid_; }

  // Waits until a line matches; returns it (with its arrival time).
  // Lines before `from` are not considered.
  std::optional<Line> wait_for(const std::function<bool(const Json&)>& pred, Clock::duration timeout,
                               size_t from = 0) {
    auto deadline = Clock::now() + timeout;
    size_t seen = from;
    while (true) {
      for (; seen < lines_.size(); ++seen)
        if (pred(lines_[seen].json)) return lines_[seen];
      if (Clock::now() >= deadline || !read_some(deadline)) break;
    }
    for (; seen < lines_.size(); ++seen)
      if (pred(lines_[seen].json)) return lines_[seen];
    return std::nullopt;
  }

  // Lets it run for `d`, collecting lines.
  void run_for(Clock::duration d) {
    auto deadline = Clock::now() + d;
    while (Clock::now() < deadline && read_some(deadline)) {
    }
  }

  // Sends it a signal (SIGHUP: its terminal went away), without waiting.
  void signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // SIGINT, then collects the rest; returns the exit status.
  int stop() {
    if (pid_ <= 0) return exit_status_;
    kill(pid_, SIGINT);
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (read_some(deadline)) {
    }
    int st = 0;
    waitpid(pid_, &st, 0);
    pid_ = -1;
    close(fd_);
    exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
    return exit_status_;
  }

  // Waits for it to exit by itself (at most timeout); its status, or -1
  // if it is still running.
  int wait_exit(Clock::duration timeout) {
    if (pid_ <= 0) return exit_status_;
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      int st = 0;
      pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        while (read_some(Clock::now() + std::chrono::milliseconds(200))) {
        }
        pid_ = -1;
        close(fd_);
        fd_ = -1;
        exit_status_ = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
        return exit_status_;
      }
      read_some(std::min(deadline, Clock::now() + std::chrono::milliseconds(200)));
    }
    return -1;
  }

  const std::vector<Line>& lines() const { return lines_; }

  std::vector<Json> of_type(const std::string& type) const {
    std::vector<Json> out;
    for (const auto& l : lines_)
      if (l.json.value("type", "") == type) out.push_back(l.json);
    return out;
  }

  std::string dump() const {
    std::string s;
    for (const auto& l : lines_) s += l.json.dump() + "\n";
    return s;
  }

 private:
  // Reads what is available; false on EOF or at the deadline.
  bool read_some(Clock::time_point deadline) {
    if (fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(std::min<long long>(left, 200))) <= 0) return true;
    char buf[65536];
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EINTR;
    partial_.append(buf, n);
    size_t nl;
    while ((nl = partial_.find('\n')) != std::string::npos) {
      std::string line = partial_.substr(0, nl);
      partial_.erase(0, nl + 1);
      auto j = Json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        ADD_FAILURE() << "pgstall printed a line that is not JSON: " << line;
        continue;
      }
      lines_.push_back({Clock::now(), std::move(j)});
    }
    return true;
  }

  pid_t pid_ = -1;
  int fd_ = -1;
  bool started_ = false;
  int exit_status_ = -1;
  std::string partial_;
  std::vector<Line> lines_;
};

// A test against the test cluster (loop-mounted): root checked, its env read.
class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(geteuid(), 0u) << "integration tests need root (BPF, cgroups, loop devices)";
    env_ = cluster_env(true);
    ASSERT_FALSE(env_["PGSTALL_PGDATA"].empty()) << "pgcluster.sh up printed no PGSTALL_PGDATA";
  }
  // pgstall watch's arguments for this cluster, then `extra`.
  std::vector<std::string> target(std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"--data-dir", env_["PGSTALL_PGDATA"]});
    return extra;
  }
  std::map<std::string, std::string> env_;
};

inline auto is_stall(const std::string& kind, int pid) {
  return [kind, pid](const Json& j) {
    return j.value("type", "") == "stall" && j.value("kind", "") == kind && (pid == 0 || j.value("pid", 0) == pid);
  };
}

inline double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

}  // namespace pgstall::itest
