#pragma once
// A fixed pool of libldap handles. Each handle is used by one thread at a
// time (checked out under the pool's mutex), connects lazily and reconnects
// after any transport error. While slapd is down, attempts to connect are
// spaced by a short back-off so that a burst of lookups fails fast with
// "unavailable" instead of each waiting for the network timeout.

#include "homthu/directory/directory.hpp"

#include <ldap.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace homthu::directory::ldap {

struct settings {
  std::string uri;
  std::string bind_dn;      // empty: anonymous
  std::string bind_password;
  std::chrono::seconds timeout{5};
  unsigned size = 4;
};

// One search result entry; attribute names lowercased.
struct entry {
  std::string dn;
  std::map<std::string, std::vector<std::string>> attrs;

  const std::vector<std::string>& all(const std::string& name) const;
  std::string first(const std::string& name) const;
  bool has_value(const std::string& name, std::string_view value_lower) const;
};

// A modification for modify(): op is LDAP_MOD_ADD, LDAP_MOD_DELETE or LDAP_MOD_REPLACE.
struct mod {
  int op;
  std::string attr;
  std::vector<std::string> values;
};

// Whether an LDAP result code means "could not talk to slapd".
bool is_transport_error(int rc);

class pool {
 public:
  explicit pool(settings s);
  ~pool();
  pool(const pool&) = delete;
  pool& operator=(const pool&) = delete;

  // Searches; LDAP_NO_SUCH_OBJECT for the base yields an empty result.
  // page_size > 0 uses RFC 2696 paged results until the server is done.
  result<std::vector<entry>> search(const std::string& base, int scope, const std::string& filter,
                                    const std::vector<std::string>& attrs, int page_size = 0);
  // Returns the LDAP result code for the caller to map (already-exists, …);
  // unavailable only when slapd cannot be reached.
  result<int> add(const std::string& dn, const std::vector<mod>& attrs);
  result<int> modify(const std::string& dn, const std::vector<mod>& mods);
  result<int> rename(const std::string& dn, const std::string& new_rdn, const std::string& new_parent);
  result<int> remove(const std::string& dn);
  // Simple bind as `dn` on a dedicated connection: LDAP_SUCCESS,
  // LDAP_INVALID_CREDENTIALS, or unavailable.
  result<int> check_bind(const std::string& dn, std::string_view password);

  bool connected() const { return connected_.load(); }
  std::uint64_t reconnects() const { return reconnects_.load(); }
  std::uint64_t errors() const { return errors_.load(); }
  // Connects one handle now (start-up probe). Returns whether it worked.
  bool probe();

 private:
  struct handle {
    LDAP* ld = nullptr;
    bool busy = false;
  };
  // Runs f on a checked-out, connected handle of `which` set. Retries once
  // on a fresh connection when the old one turns out dead (slapd restarted).
  result<int> with_handle(std::vector<handle>& set, bool bind_as_service,
                          const std::function<int(LDAP*)>& f);
  LDAP* connect(bool bind_as_service, int& rc);
  void drop(LDAP*& ld);

  settings s_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<handle> service_;
  std::vector<handle> auth_;
  std::chrono::steady_clock::time_point next_attempt_{};
  std::atomic<bool> connected_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace homthu::directory::ldap
