// SQLite wrapper: connection set-up (WAL, synchronous, busy timeout) and
// statement helpers. Trusts nothing beyond SQLite itself; every failing call
// becomes a sql_error naming the SQLite message.

#include "db/sqlite.hpp"

#include <unordered_map>

namespace homthu::storage::db {

namespace {

[[noreturn]] void fail(sqlite3* db, int rc, std::string_view what) {
  std::string msg(what);
  msg += ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  throw sql_error(rc, msg);
}

}  // namespace

struct connection::cache {
  std::unordered_map<const char*, statement> stmts;
};

connection::connection(const std::string& path, bool read_only, bool fsync) {
  int flags = SQLITE_OPEN_NOMUTEX | (read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "open " + path + ": " + (db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
    sqlite3_close(db_);
    db_ = nullptr;
    throw sql_error(rc, msg);
  }
  cache_ = new cache;
  sqlite3_extended_result_codes(db_, 1);
  // Readers may meet a checkpoint in progress; writers are serialised by the
  // store's single writer thread, so a long timeout only matters for
  // homthuctl running beside homthud.
  sqlite3_busy_timeout(db_, 10000);
  if (!read_only) {
    exec("PRAGMA journal_mode=WAL");
  }
  // synchronous=FULL: the WAL is fsync'd at every commit (DESIGN.md durability rule).
  exec(fsync ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
  exec("PRAGMA foreign_keys=OFF");
  exec("PRAGMA temp_store=MEMORY");
  exec("PRAGMA cache_size=-16000");
}

connection::~connection() {
  delete cache_;
  if (db_) {
    sqlite3_close_v2(db_);
  }
}

void connection::exec(const char* sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = std::string(sql).substr(0, 60) + ": " + (err ? err : sqlite3_errstr(rc));
    sqlite3_free(err);
    throw sql_error(rc, msg);
  }
}

statement connection::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) {
    fail(db_, rc, "prepare");
  }
  return statement(db_, s);
}

statement& connection::cached(const char* sql) {
  auto it = cache_->stmts.find(sql);
  if (it == cache_->stmts.end()) {
    it = cache_->stmts.emplace(sql, prepare(sql)).first;
  }
  return it->second;
}

statement& statement::operator=(statement&& o) noexcept {
  if (this != &o) {
    if (s_) {
      sqlite3_finalize(s_);
    }
    db_ = o.db_;
    s_ = o.s_;
    o.s_ = nullptr;
  }
  return *this;
}

statement::~statement() {
  if (s_) {
    sqlite3_finalize(s_);
  }
}

statement& statement::bind(int i, std::int64_t v) {
  int rc = sqlite3_bind_int64(s_, i, v);
  if (rc != SQLITE_OK) {
    fail(db_, rc, "bind");
  }
  return *this;
}

statement& statement::bind(int i, std::string_view v) {
  int rc = sqlite3_bind_text64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (rc != SQLITE_OK) {
    fail(db_, rc, "bind");
  }
  return *this;
}

statement& statement::bind_blob(int i, std::string_view v) {
  int rc = sqlite3_bind_blob64(s_, i, v.data(), v.size(), SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) {
    fail(db_, rc, "bind");
  }
  return *this;
}

statement& statement::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

bool statement::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) {
    return true;
  }
  if (rc == SQLITE_DONE) {
    return false;
  }
  int code = rc;
  std::string msg = std::string("step: ") + sqlite3_errmsg(db_);
  sqlite3_reset(s_);
  throw sql_error(code, msg);
}

void statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::string statement::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

std::string statement::blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
  int n = sqlite3_column_bytes(s_, col);
  return p ? std::string(p, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace homthu::storage::db
