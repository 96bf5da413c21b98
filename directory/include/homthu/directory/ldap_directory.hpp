#pragma once
// The OpenLDAP backend of directory and directory_admin. Connection pool of
// [ldap] pool_size handles bound as the service DN, reconnecting by
// themselves; lookups cached for cache_ttl (misses for negative_cache_ttl)
// and dropped on our own writes; successful authentications cached under a
// keyed hash of login and password. While slapd is unreachable, cached
// answers (even expired ones) keep serving and everything else fails with
// error::unavailable. Construction never fails because slapd is down.

#include "homthu/common/config.hpp"
#include "homthu/directory/directory.hpp"
#include "homthu/directory/directory_admin.hpp"

#include <memory>

namespace homthu::directory {

class ldap_directory : public directory, public directory_admin {
 public:
  // Counters for /metrics and benchmarks.
  struct stats {
    std::uint64_t cache_hits = 0;
    std::uint64_t cache_misses = 0;
    std::uint64_t stale_served = 0;  // expired entries answered during an outage
    std::uint64_t auth_cache_hits = 0;
    std::uint64_t ldap_errors = 0;
    std::uint64_t reconnects = 0;
  };
  virtual stats statistics() const = 0;
  // True when the last attempt to reach slapd succeeded.
  virtual bool connected() const = 0;
  // Drops every cached lookup and authentication (tests, SIGHUP).
  virtual void clear_caches() = 0;
};

// Throws common::config_error when the bind password file cannot be read.
std::unique_ptr<ldap_directory> open_ldap(const common::config& cfg);
// The same object seen as the protocols' interface.
std::unique_ptr<directory> open_ldap_directory(const common::config& cfg);

}  // namespace homthu::directory
