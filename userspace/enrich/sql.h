#pragma once
// Optional enrichment when the server still answers (--dsn): for the backends
// pgstall sees waiting for a lock, who blocks them (pg_blocking_pids) and on
// which relation, from SQL. Never required and never in the way: one worker
// thread, each connection attempt and query capped at 1 s, results picked up
// by the watch loop when they are there.
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "model/blocking.h"
#include "util/result.h"

namespace pgstall::enrich {

using model::BlockedBy;

struct SqlResult {
  bool ok = false;
  std::string error;               // when !ok: for an operator
  std::vector<BlockedBy> waits;    // every backend blocked at that moment
};

// Whether libpq can read dsn (a conninfo string, a URI, or a bare database
// name as libpq's expand_dbname takes it), checked before tracing starts so
// a typo is said at once, not at the first lock wait; the error is libpq's
// one line. Parses only: no connection is attempted.
Result<void> check_dsn(const std::string& dsn);

class SqlEnricher {
 public:
  explicit SqlEnricher(std::string dsn);
  ~SqlEnricher();
  SqlEnricher(const SqlEnricher&) = delete;
  SqlEnricher& operator=(const SqlEnricher&) = delete;

  // Asks for a fresh look (a lock wait was just flagged). Never blocks.
  void request();
  // Results that arrived since the last call. Never blocks.
  std::vector<SqlResult> take();

 private:
  void run();

  std::string dsn_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false, stop_ = false;
  std::vector<SqlResult> done_;
  std::thread worker_;
};

}  // namespace pgstall::enrich
