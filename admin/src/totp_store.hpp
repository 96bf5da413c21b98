#pragma once
// Second-factor secrets of console users, in the admin server's own SQLite
// database (admin.db, beside the audit log and API tokens; a table of its
// own), never in LDAP: other systems read the directory, and a TOTP secret
// is a password that cannot be hashed. Thread-safe; calls block on SQLite,
// so callers use the worker pool.

#include <boost/system/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;

namespace homthu::admin {

struct totp_entry {
  std::string secret;           // raw key bytes (20 from the CSPRNG)
  bool confirmed = false;       // false: enrolment started, no valid code seen yet
  std::int64_t last_step = -1;  // the newest step whose code was accepted (replay guard)
};

class totp_store {
 public:
  // Opens (creating the table when absent) the database at `path`. Throws
  // std::runtime_error naming the path.
  totp_store(const std::string& path, bool fsync);
  ~totp_store();
  totp_store(const totp_store&) = delete;
  totp_store& operator=(const totp_store&) = delete;

  boost::system::result<std::optional<totp_entry>> get(std::string_view account_id);
  // Starts (or restarts) an enrolment. false when a confirmed secret exists.
  boost::system::result<bool> begin(std::string_view account_id, std::string_view secret, std::int64_t now_ms);
  // Confirms a pending enrolment whose code of `step` was valid. false when
  // there is no pending enrolment with that secret any more.
  boost::system::result<bool> confirm(std::string_view account_id, std::string_view secret, std::int64_t step);
  // Records that the code of `step` was used, only if no code of that step
  // or a later one was used before: false is a replay (two requests racing
  // with one code included).
  boost::system::result<bool> use(std::string_view account_id, std::int64_t step);
  // Removes the secret (disable, reset, account deleted). false: there was none.
  boost::system::result<bool> remove(std::string_view account_id);

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace homthu::admin
