#pragma once
// What the admin server keeps between requests: sessions, the login
// throttle, the durable records (audit log, API tokens), the account search
// index, second-factor secrets, bulk-import jobs and metrics. Owned by admin::server; every member
// is thread-safe on its own.

#include "auth.hpp"
#include "totp_store.hpp"
#include "homthu/admin/server.hpp"
#include "homthu/directory/directory_admin.hpp"
#include "homthu/storage/audit.hpp"

#include <memory>
#include <mutex>

namespace homthu::admin {

// One account as the search sees it: the record plus its folded text
// (address, aliases, display name) so a query is a substring scan.
struct indexed_account {
  directory::account acct;
  std::string folded;
};

// The accounts an actor may read (optionally below one unit), fetched from
// the directory once and reused, so paging and typing in the search box do
// not each list 9,000 entries from LDAP. A list is fresh for `fresh`; after
// that it is still answered, up to `max_age`, while one background refresh
// replaces it (claim_refresh / refreshed), so an administrator at work never
// waits for the listing again. Our own writes patch it at once; changes made
// elsewhere (homthuctl) show once a refresh has run after them.
class account_cache {
 public:
  using list = std::shared_ptr<const std::vector<indexed_account>>;
  account_cache(std::chrono::seconds fresh, std::chrono::seconds max_age) : fresh_(fresh), max_age_(max_age) {}
  // The list under `key` while younger than max_age, else null.
  list get(const std::string& key, clock_type::time_point now);
  void put(const std::string& key, list l, clock_type::time_point now);
  // True once per refresh: the caller should refresh `key` (it is past
  // `fresh` and nobody else is refreshing it).
  bool claim_refresh(const std::string& key, clock_type::time_point now);
  // Counts our own changes; a refresh that started before one is stale.
  std::uint64_t generation();
  // The end of a claimed refresh: stores `l` (when not null and no change
  // of ours happened since `gen`) and releases the claim.
  void refreshed(const std::string& key, list l, clock_type::time_point now, std::uint64_t gen);
  void drop(const std::string& key);
  // After our own change of one account: replace it in every cached list
  // that holds it, so the next search sees the change without relisting
  // the directory. Creations and moves change which lists hold an account,
  // so they clear() instead.
  void update(const directory::account& a);
  void remove(const std::string& account_id);
  // After `a` was created by the actor whose whole-scope list is `key`:
  // insert it there (it is in their scope, or the directory would have
  // refused) and drop every other list.
  void created(const std::string& key, const directory::account& a);
  void clear();

 private:
  struct entry {
    list l;
    clock_type::time_point at;
    bool refreshing = false;
    clock_type::time_point claimed;
  };
  std::chrono::seconds fresh_;
  std::chrono::seconds max_age_;
  std::mutex mu_;
  std::uint64_t generation_ = 0;
  std::map<std::string, entry> by_key_;
};

// The folded search text of an account (address, id, name, aliases).
std::string search_text(const directory::account& a);

struct import_row {
  std::size_t row = 0;     // 1-based data row (header excluded)
  std::size_t line = 0;    // physical line in the file
  std::string address, name, unit;
  std::uint64_t quota_bytes = 0;
  std::string password;    // given in the file; empty: generate
  std::string status;      // valid, invalid, created, failed
  std::string error;       // "unit: no such unit" …
  std::string result_password;  // the password the account got (generated or given)
};

struct import_job {
  std::string id;
  std::string owner;       // account id that uploaded it; only they see it
  directory::actor actor;  // who creates the accounts
  std::string client;      // their IP address, for the audit log
  clock_type::time_point created;
  std::mutex mu;
  std::string state = "validated";  // validated, running, done
  std::vector<import_row> rows;
  std::size_t processed = 0, created_n = 0, failed_n = 0;
  bool result_taken = false;
};

// The unit tree with per-unit account counts, the same for every caller:
// counting means listing every account entry from LDAP (0.3-0.6 s at 9,000),
// so it is kept like the account index: fresh for a minute, then answered
// while one background refresh runs, dropped after 10 minutes; our own
// account changes (the index's generation) make the next reader wait for
// fresh counts.
struct unit_tree_cache {
  std::mutex mu;
  std::shared_ptr<const std::vector<directory::unit_info>> units;
  clock_type::time_point at;
  std::uint64_t generation = 0;  // accounts.generation() when listed
  bool refreshing = false;
};

struct admin_state {
  explicit admin_state(services& s);

  services& svc;
  directory::directory_admin* dir_admin = nullptr;  // null: no provisioning API (503)
  session_store sessions;
  login_limiter limiter;
  std::unique_ptr<storage::admin_records> records;
  account_cache accounts{std::chrono::seconds(10), std::chrono::minutes(10)};
  unit_tree_cache unit_tree;
  std::unique_ptr<totp_store> totp;

  std::mutex imports_mu;
  std::map<std::string, std::shared_ptr<import_job>> imports;

  std::mutex usage_mu;
  std::map<std::string, std::pair<clock_type::time_point, std::uint64_t>> usage_cache;

  common::histogram* api_latency = nullptr;
  common::counter* login_failures = nullptr;
  common::counter* api_errors = nullptr;
};

}  // namespace homthu::admin
