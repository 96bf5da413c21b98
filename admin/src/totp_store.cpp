// The totp table of admin.db (see totp_store.hpp). Binds every value as a
// parameter; the replay guard is a single conditional UPDATE, so two
// requests carrying the same code cannot both succeed.
#include "totp_store.hpp"

#include "homthu/storage/audit.hpp"

#include <sqlite3.h>

#include <boost/system/errc.hpp>

#include <stdexcept>

namespace homthu::admin {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS totp (
  account TEXT PRIMARY KEY,
  secret BLOB NOT NULL,
  confirmed INTEGER NOT NULL DEFAULT 0,
  last_step INTEGER NOT NULL DEFAULT -1,
  created_ms INTEGER NOT NULL
);
)sql";

boost::system::error_code io_error() { return make_error_code(boost::system::errc::io_error); }

class statement {
 public:
  statement(sqlite3* db, const char* sql) { ok_ = sqlite3_prepare_v2(db, sql, -1, &st_, nullptr) == SQLITE_OK; }
  ~statement() { sqlite3_finalize(st_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  bool ok() const { return ok_; }
  void text(int i, std::string_view s) { sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void blob(int i, std::string_view s) { sqlite3_bind_blob(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT); }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(st_, i, v); }
  int step() { return sqlite3_step(st_); }
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
  bool ok_ = false;
};

// Runs a write: whether it changed a row, or an error.
boost::system::result<bool> changed_row(sqlite3* db, statement& st) {
  if (!st.ok() || st.step() != SQLITE_DONE) {
    return {boost::system::in_place_error, io_error()};
  }
  return sqlite3_changes(db) == 1;
}

}  // namespace

totp_store::totp_store(const std::string& path, bool fsync)
    : db_(storage::open_admin_db(path, fsync, schema)) {}

totp_store::~totp_store() { sqlite3_close(db_); }

boost::system::result<std::optional<totp_entry>> totp_store::get(std::string_view account_id) {
  statement st(db_, "SELECT secret, confirmed, last_step FROM totp WHERE account = ?1");
  if (!st.ok()) {
    return io_error();
  }
  st.text(1, account_id);
  int rc = st.step();
  if (rc == SQLITE_DONE) {
    return std::optional<totp_entry>{};
  }
  if (rc != SQLITE_ROW) {
    return io_error();
  }
  totp_entry e;
  auto* p = static_cast<const char*>(sqlite3_column_blob(st.get(), 0));
  e.secret.assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 0)));
  e.confirmed = sqlite3_column_int64(st.get(), 1) != 0;
  e.last_step = sqlite3_column_int64(st.get(), 2);
  return std::optional<totp_entry>(std::move(e));
}

boost::system::result<bool> totp_store::begin(std::string_view account_id, std::string_view secret,
                                              std::int64_t now_ms) {
  statement st(db_,
               "INSERT INTO totp (account, secret, confirmed, last_step, created_ms) VALUES (?1, ?2, 0, -1, ?3) "
               "ON CONFLICT(account) DO UPDATE SET secret = excluded.secret, last_step = -1, "
               "created_ms = excluded.created_ms WHERE confirmed = 0");
  st.text(1, account_id);
  st.blob(2, secret);
  st.integer(3, now_ms);
  return changed_row(db_, st);
}

boost::system::result<bool> totp_store::confirm(std::string_view account_id, std::string_view secret,
                                                std::int64_t step) {
  statement st(db_, "UPDATE totp SET confirmed = 1, last_step = ?3 WHERE account = ?1 AND secret = ?2 AND confirmed = 0");
  st.text(1, account_id);
  st.blob(2, secret);
  st.integer(3, step);
  return changed_row(db_, st);
}

boost::system::result<bool> totp_store::use(std::string_view account_id, std::int64_t step) {
  statement st(db_, "UPDATE totp SET last_step = ?2 WHERE account = ?1 AND confirmed = 1 AND last_step < ?2");
  st.text(1, account_id);
  st.integer(2, step);
  return changed_row(db_, st);
}

boost::system::result<bool> totp_store::remove(std::string_view account_id) {
  statement st(db_, "DELETE FROM totp WHERE account = ?1");
  st.text(1, account_id);
  return changed_row(db_, st);
}

}  // namespace homthu::admin
