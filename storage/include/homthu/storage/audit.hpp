#pragma once
// The admin console's durable records: the audit log (who changed what,
// when, from which address) and the API tokens scripts use. One SQLite
// database of its own (WAL, synchronous=FULL), admin.db under the store
// root by default.
//
// The audit log is append-only: this interface has no update or delete, and
// triggers in the database refuse UPDATE and DELETE on its table, so a bug
// elsewhere cannot rewrite history either. API tokens are kept as a SHA-256
// digest of their secret only; the secret is shown once when made.
// Thread-safe; calls block on SQLite, so callers use the worker pool.

#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3;

namespace homthu::storage {

struct audit_record {
  std::int64_t id = 0;           // assigned by append()
  std::int64_t time_ms = 0;      // Unix milliseconds
  std::string actor;             // account id of the acting administrator ("system" for homthuctl)
  std::string action;            // "account.create", "session.create", …
  std::string target;            // what was acted on (an address, a unit id), may be empty
  std::string client;            // client IP address
  std::string outcome;           // "ok" or the refusal ("denied", "invalid", …)
  std::string detail;            // JSON text with the changed fields, never a password
};

struct audit_query {
  std::string actor;             // exact; empty: any
  std::string action;            // prefix ("account." matches every account action); empty: any
  std::string target;            // substring; empty: any
  std::int64_t since_ms = 0;     // inclusive; 0: no bound
  std::int64_t until_ms = 0;     // exclusive; 0: no bound
  std::size_t offset = 0;
  std::size_t limit = 100;       // at most 1000
};

struct audit_page {
  std::vector<audit_record> records;  // newest first
  std::size_t total = 0;              // matches before offset/limit
};

struct api_token {
  std::string id;                // public part of the token, unique
  std::string owner;             // account id the token acts as
  std::string label;
  std::string scope;             // "read" or "write"
  std::int64_t created_ms = 0;
  std::int64_t last_used_ms = 0;
  bool revoked = false;
  std::string secret_sha256;     // hex digest of the secret part
};

class admin_records {
 public:
  virtual ~admin_records() = default;

  // Durable on return. Fills nothing back but the id.
  virtual boost::system::result<std::int64_t> append(const audit_record& r) = 0;
  virtual boost::system::result<audit_page> query(const audit_query& q) = 0;

  // Errors: exists (id taken).
  virtual boost::system::result<void> add_token(const api_token& t) = 0;
  // not_found when no such id (revoked tokens are returned, flagged).
  virtual boost::system::result<api_token> find_token(std::string_view id) = 0;
  // Tokens of one owner (every owner when empty), newest first, without digests.
  virtual boost::system::result<std::vector<api_token>> list_tokens(std::string_view owner) = 0;
  virtual boost::system::result<void> revoke_token(std::string_view id) = 0;
  virtual boost::system::result<void> touch_token(std::string_view id, std::int64_t now_ms) = 0;
};

// Opens (creating when absent) the database at `path`. Throws
// std::runtime_error naming the path on failure.
std::unique_ptr<admin_records> open_admin_records(const std::string& path, bool fsync = true);
// <store root>/admin.db.
std::string default_admin_records_path(const std::string& storage_path);

// Opens admin.db (or another table's database beside it) for a component
// that keeps its own table there: the file is created owner-only (0600: it
// holds token hashes and TOTP secrets), WAL, synchronous FULL unless `fsync`
// is false, then `schema` is run. Throws std::runtime_error naming the path.
sqlite3* open_admin_db(const std::string& path, bool fsync, const char* schema);

}  // namespace homthu::storage
