// admin.db: the audit log and API tokens of the admin console. Trusts its
// callers (the admin server) for the content of records; binds every value
// as an SQLite parameter. Invariants: audit rows are never updated or
// deleted (triggers enforce it); a record is committed with
// synchronous=FULL before append() returns.
#include "homthu/storage/audit.hpp"
#include "homthu/storage/store.hpp"

#include <sqlite3.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <stdexcept>

namespace homthu::storage {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS audit (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  time_ms INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  client TEXT NOT NULL,
  outcome TEXT NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_time ON audit(time_ms);
CREATE INDEX IF NOT EXISTS audit_actor ON audit(actor, time_ms);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TABLE IF NOT EXISTS api_token (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  label TEXT NOT NULL,
  scope TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  last_used_ms INTEGER NOT NULL DEFAULT 0,
  revoked INTEGER NOT NULL DEFAULT 0,
  secret_sha256 TEXT NOT NULL
);
)sql";

boost::system::error_code map_rc(int rc) {
  switch (rc & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return make_error_code(error::busy);
    case SQLITE_FULL: return make_error_code(error::disk_full);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return make_error_code(error::corrupt);
    case SQLITE_CONSTRAINT: return make_error_code(error::exists);
    default: return make_error_code(error::io_error);
  }
}

class statement {
 public:
  statement(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr); }
  ~statement() { sqlite3_finalize(st_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  int rc() const { return rc_; }
  void bind(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  }
  void bind(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  int step() { return sqlite3_step(st_); }
  std::string text(int i) const {
    auto p = sqlite3_column_text(st_, i);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(st_, i)))
             : std::string{};
  }
  std::int64_t integer(int i) const { return sqlite3_column_int64(st_, i); }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
};

std::string like_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '%' || c == '_' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out;
}

class sqlite_admin_records final : public admin_records {
 public:
  sqlite_admin_records(const std::string& path, bool fsync) : db_(open_admin_db(path, fsync, schema)) {}
  ~sqlite_admin_records() override { sqlite3_close(db_); }

  boost::system::result<std::int64_t> append(const audit_record& r) override {
    std::lock_guard lock(mu_);
    statement st(db_,
                 "INSERT INTO audit(time_ms, actor, action, target, client, outcome, detail) "
                 "VALUES(?,?,?,?,?,?,?)");
    if (!st.ok()) {
      return map_rc(st.rc());
    }
    st.bind(1, r.time_ms);
    st.bind(2, r.actor);
    st.bind(3, r.action);
    st.bind(4, r.target);
    st.bind(5, r.client);
    st.bind(6, r.outcome);
    st.bind(7, r.detail);
    if (int rc = st.step(); rc != SQLITE_DONE) {
      return map_rc(rc);
    }
    return sqlite3_last_insert_rowid(db_);
  }

  boost::system::result<audit_page> query(const audit_query& q) override {
    std::string where = " WHERE 1";
    if (!q.actor.empty()) {
      where += " AND actor = ?1";
    }
    if (!q.action.empty()) {
      where += " AND action LIKE ?2 ESCAPE '\\'";
    }
    if (!q.target.empty()) {
      where += " AND target LIKE ?3 ESCAPE '\\'";
    }
    if (q.since_ms) {
      where += " AND time_ms >= ?4";
    }
    if (q.until_ms) {
      where += " AND time_ms < ?5";
    }
    auto bind_all = [&](statement& st) {
      if (!q.actor.empty()) {
        st.bind(1, q.actor);
      }
      if (!q.action.empty()) {
        st.bind(2, like_escape(q.action) + "%");
      }
      if (!q.target.empty()) {
        st.bind(3, "%" + like_escape(q.target) + "%");
      }
      if (q.since_ms) {
        st.bind(4, q.since_ms);
      }
      if (q.until_ms) {
        st.bind(5, q.until_ms);
      }
    };
    std::lock_guard lock(mu_);
    audit_page page;
    {
      statement st(db_, ("SELECT count(*) FROM audit" + where).c_str());
      if (!st.ok()) {
        return map_rc(st.rc());
      }
      bind_all(st);
      if (st.step() != SQLITE_ROW) {
        return make_error_code(error::io_error);
      }
      page.total = static_cast<std::size_t>(st.integer(0));
    }
    std::size_t limit = std::min<std::size_t>(q.limit == 0 ? 100 : q.limit, 1000);
    statement st(db_, ("SELECT id, time_ms, actor, action, target, client, outcome, detail FROM audit" + where +
                       " ORDER BY id DESC LIMIT ?6 OFFSET ?7")
                          .c_str());
    if (!st.ok()) {
      return map_rc(st.rc());
    }
    bind_all(st);
    st.bind(6, static_cast<std::int64_t>(limit));
    st.bind(7, static_cast<std::int64_t>(q.offset));
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      audit_record r;
      r.id = st.integer(0);
      r.time_ms = st.integer(1);
      r.actor = st.text(2);
      r.action = st.text(3);
      r.target = st.text(4);
      r.client = st.text(5);
      r.outcome = st.text(6);
      r.detail = st.text(7);
      page.records.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) {
      return map_rc(rc);
    }
    return page;
  }

  boost::system::result<void> add_token(const api_token& t) override {
    std::lock_guard lock(mu_);
    statement st(db_,
                 "INSERT INTO api_token(id, owner, label, scope, created_ms, secret_sha256) VALUES(?,?,?,?,?,?)");
    if (!st.ok()) {
      return map_rc(st.rc());
    }
    st.bind(1, t.id);
    st.bind(2, t.owner);
    st.bind(3, t.label);
    st.bind(4, t.scope);
    st.bind(5, t.created_ms);
    st.bind(6, t.secret_sha256);
    if (int rc = st.step(); rc != SQLITE_DONE) {
      return map_rc(rc);
    }
    return {};
  }

  boost::system::result<api_token> find_token(std::string_view id) override {
    std::lock_guard lock(mu_);
    statement st(db_,
                 "SELECT id, owner, label, scope, created_ms, last_used_ms, revoked, secret_sha256 "
                 "FROM api_token WHERE id = ?");
    if (!st.ok()) {
      return map_rc(st.rc());
    }
    st.bind(1, id);
    int rc = st.step();
    if (rc == SQLITE_DONE) {
      return make_error_code(error::not_found);
    }
    if (rc != SQLITE_ROW) {
      return map_rc(rc);
    }
    return row_token(st, true);
  }

  boost::system::result<std::vector<api_token>> list_tokens(std::string_view owner) override {
    std::lock_guard lock(mu_);
    statement st(db_, owner.empty()
                          ? "SELECT id, owner, label, scope, created_ms, last_used_ms, revoked FROM api_token "
                            "ORDER BY created_ms DESC"
                          : "SELECT id, owner, label, scope, created_ms, last_used_ms, revoked FROM api_token "
                            "WHERE owner = ? ORDER BY created_ms DESC");
    if (!st.ok()) {
      return map_rc(st.rc());
    }
    if (!owner.empty()) {
      st.bind(1, owner);
    }
    std::vector<api_token> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      out.push_back(row_token(st, false));
    }
    if (rc != SQLITE_DONE) {
      return map_rc(rc);
    }
    return out;
  }

  boost::system::result<void> revoke_token(std::string_view id) override {
    return update("UPDATE api_token SET revoked = 1 WHERE id = ?", id, 0);
  }

  boost::system::result<void> touch_token(std::string_view id, std::int64_t now_ms) override {
    return update("UPDATE api_token SET last_used_ms = ?2 WHERE id = ?1", id, now_ms);
  }

 private:
  static api_token row_token(const statement& st, bool with_digest) {
    api_token t;
    t.id = st.text(0);
    t.owner = st.text(1);
    t.label = st.text(2);
    t.scope = st.text(3);
    t.created_ms = st.integer(4);
    t.last_used_ms = st.integer(5);
    t.revoked = st.integer(6) != 0;
    if (with_digest) {
      t.secret_sha256 = st.text(7);
    }
    return t;
  }

  boost::system::result<void> update(const char* sql, std::string_view id, std::int64_t v) {
    std::lock_guard lock(mu_);
    statement st(db_, sql);
    if (!st.ok()) {
      return map_rc(st.rc());
    }
    st.bind(1, id);
    if (v) {
      st.bind(2, v);
    }
    if (int rc = st.step(); rc != SQLITE_DONE) {
      return map_rc(rc);
    }
    if (sqlite3_changes(db_) == 0) {
      return make_error_code(error::not_found);
    }
    return {};
  }

  std::mutex mu_;
  sqlite3* db_ = nullptr;
};

}  // namespace

sqlite3* open_admin_db(const std::string& path, bool fsync, const char* schema) {
  auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
  }
  // Created owner-only before SQLite opens it (its -wal and -shm files take
  // the database file's mode); an existing file is narrowed too.
  if (int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600); fd >= 0) {
    ::fchmod(fd, 0600);
    ::close(fd);
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string why = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw std::runtime_error(path + ": " + why);
  }
  sqlite3_busy_timeout(db, 5000);
  std::string pragmas = std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + (fsync ? "FULL" : "OFF") + ";";
  char* err = nullptr;
  if (sqlite3_exec(db, pragmas.c_str(), nullptr, nullptr, &err) != SQLITE_OK ||
      sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string why = err ? err : "schema";
    sqlite3_free(err);
    sqlite3_close(db);
    throw std::runtime_error(path + ": " + why);
  }
  return db;
}

std::unique_ptr<admin_records> open_admin_records(const std::string& path, bool fsync) {
  return std::make_unique<sqlite_admin_records>(path, fsync);
}

std::string default_admin_records_path(const std::string& storage_path) {
  return (std::filesystem::path(storage_path) / "admin.db").string();
}

}  // namespace homthu::storage
