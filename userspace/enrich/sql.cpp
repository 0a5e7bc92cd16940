#include "enrich/sql.h"

#include <libpq-fe.h>

#include <algorithm>
#include <sstream>

#include <fmt/format.h>

namespace pgstall::enrich {
namespace {

// Every blocked backend, whom it waits for, and the relation if the awaited
// lock is on one. pg_blocking_pids() is exact, unlike the holder candidates
// pgstall derives without SQL.
constexpr const char* kQuery =
    "SELECT a.pid, array_to_string(pg_blocking_pids(a.pid), ','), "
    "coalesce((SELECT l.relation::regclass::text FROM pg_locks l "
    "          WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1), '') "
    "FROM pg_stat_activity a WHERE cardinality(pg_blocking_pids(a.pid)) > 0";

std::vector<int> parse_pids(const char* text) {
  std::vector<int> out;
  std::string s(text ? text : "");
  std::replace(s.begin(), s.end(), ',', ' ');
  std::istringstream in(s);
  int p = 0;
  while (in >> p) out.push_back(p);
  return out;
}

SqlResult query_once(const std::string& dsn) {
  SqlResult r;
  // Capped: 1 s to connect, 1 s per statement, and a name in pg_stat_activity.
  // The DSN may be a conninfo string or a URI (expand_dbname).
  const char* keys[] = {"dbname", "connect_timeout", "application_name", "options", nullptr};
  const char* vals[] = {dsn.c_str(), "1", "pgstall", "-c statement_timeout=1000", nullptr};
  PGconn* c = PQconnectdbParams(keys, vals, 1);
  if (PQstatus(c) != CONNECTION_OK) {
    r.error = fmt::format("cannot connect with --dsn: {}", PQerrorMessage(c));
    while (!r.error.empty() && (r.error.back() == '\n' || r.error.back() == ' ')) r.error.pop_back();
    PQfinish(c);
    return r;
  }
  PGresult* res = PQexec(c, kQuery);
  if (PQresultStatus(res) != PGRES_TUPLES_OK) {
    r.error = fmt::format("--dsn query failed: {}", PQresultErrorMessage(res));
    while (!r.error.empty() && (r.error.back() == '\n' || r.error.back() == ' ')) r.error.pop_back();
  } else {
    r.ok = true;
    for (int i = 0; i < PQntuples(res); ++i) {
      BlockedBy b;
      b.pid = std::atoi(PQgetvalue(res, i, 0));
      b.blocked_by = parse_pids(PQgetvalue(res, i, 1));
      b.relation = PQgetvalue(res, i, 2);
      r.waits.push_back(std::move(b));
    }
    for (auto& b : r.waits) b.chain = model::blocking_chain(b.pid, r.waits);
  }
  PQclear(res);
  PQfinish(c);
  return r;
}

bool is_conninfo(const std::string& dsn) {
  return dsn.find('=') != std::string::npos || dsn.rfind("postgresql://", 0) == 0 ||
         dsn.rfind("postgres://", 0) == 0;
}

}  // namespace

Result<void> check_dsn(const std::string& dsn) {
  if (!is_conninfo(dsn)) return {};  // a database name: libpq takes it as is
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts) {
    PQconninfoFree(opts);
    return {};
  }
  std::string why = err ? err : "out of memory";
  if (err) PQfreemem(err);
  while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
  std::replace(why.begin(), why.end(), '\n', ' ');  // one line
  return fail(why);
}

SqlEnricher::SqlEnricher(std::string dsn) : dsn_(std::move(dsn)), worker_([this] { run(); }) {}

SqlEnricher::~SqlEnricher() {
  {
    std::lock_guard<std::mutex> g(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();  // at most one capped query in flight
}

void SqlEnricher::request() {
  {
    std::lock_guard<std::mutex> g(mu_);
    wanted_ = true;
  }
  cv_.notify_all();
}

std::vector<SqlResult> SqlEnricher::take() {
  std::lock_guard<std::mutex> g(mu_);
  std::vector<SqlResult> out;
  out.swap(done_);
  return out;
}

void SqlEnricher::run() {
  for (;;) {
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return wanted_ || stop_; });
      if (stop_) return;
      wanted_ = false;
    }
    SqlResult r = query_once(dsn_);
    std::lock_guard<std::mutex> g(mu_);
    done_.push_back(std::move(r));
  }
}

}  // namespace pgstall::enrich
