#pragma once
// A thin RAII layer over the SQLite C API used by the store. Failures throw
// sql_error carrying the SQLite result code; the store catches it at its
// interface and turns it into a storage::error value, so nothing outside
// storage/ sees an exception from here.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace homthu::storage::db {

struct sql_error : std::runtime_error {
  int code;
  sql_error(int c, const std::string& what) : std::runtime_error(what), code(c) {}
};

class statement;

class connection {
 public:
  // Opens `path` with WAL and synchronous=FULL (or OFF when fsync is off,
  // for tests only). read_only connections never take the write lock.
  connection(const std::string& path, bool read_only, bool fsync);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  void exec(const char* sql);
  statement prepare(std::string_view sql);
  // Cached prepared statement (reset and unbound on return).
  statement& cached(const char* sql);
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }

 private:
  struct cache;
  sqlite3* db_ = nullptr;
  cache* cache_ = nullptr;
};

class statement {
 public:
  statement() = default;
  statement(sqlite3* db, sqlite3_stmt* s) : db_(db), s_(s) {}
  statement(statement&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  statement& operator=(statement&& o) noexcept;
  ~statement();

  statement& bind(int i, std::int64_t v);
  statement& bind(int i, std::string_view v);
  statement& bind_blob(int i, std::string_view v);
  statement& bind_null(int i);
  // Binds positional parameters 1..n in order.
  template <class... A>
  statement& bind_all(const A&... a) {
    int i = 0;
    (bind_one(++i, a), ...);
    return *this;
  }
  // True while a row is available.
  bool step();
  void run() {
    step();
    reset();
  }
  void reset();

  std::int64_t i64(int col) const { return sqlite3_column_int64(s_, col); }
  std::string text(int col) const;
  std::string blob(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }

 private:
  template <class T>
  void bind_one(int i, const T& v) {
    if constexpr (std::is_integral_v<T>) {
      bind(i, static_cast<std::int64_t>(v));
    } else {
      bind(i, std::string_view(v));
    }
  }
  sqlite3* db_ = nullptr;
  sqlite3_stmt* s_ = nullptr;
};

// RAII reset of a cached statement.
class reset_guard {
 public:
  explicit reset_guard(statement& s) : s_(s) {}
  ~reset_guard() { s_.reset(); }

 private:
  statement& s_;
};

}  // namespace homthu::storage::db
