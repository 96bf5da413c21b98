#pragma once
// Sign-in state of the console: sessions (random ids, idle and absolute
// expiry, one CSRF token each), the login throttle, and the small
// cryptographic helpers they need. No I/O; the clock is passed in so tests
// can move it.

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::admin {

using clock_type = std::chrono::steady_clock;

// `bytes` as characters of `alphabet` taking `bits_per_char` bits each, most
// significant first, the last one zero-padded, no '=' (base64url with 6,
// RFC 4648 base32 with 5).
std::string encode_bits(std::string_view bytes, std::string_view alphabet, int bits_per_char);
// `bytes` random bytes from the OS CSPRNG, base64url without padding.
std::string random_token(std::size_t bytes = 32);
std::string sha256_hex(std::string_view data);
// Comparison whose time does not depend on where the inputs differ.
bool equal_constant_time(std::string_view a, std::string_view b);

struct session_data {
  std::string id;                  // the cookie value
  std::string csrf;                // required as X-CSRF-Token on state-changing requests
  std::string account_id;
  std::string address;
  std::string display_name;
  std::string role;                // "province-admin", "unit-admin", "auditor", "none"
  std::vector<std::string> units;  // unit ids in scope, empty for province-wide
  // [admin] require_totp_for_province_admins: a province administrator
  // without a confirmed second factor reaches only its enrolment.
  bool enrol_only = false;
  clock_type::time_point created;
  clock_type::time_point last_seen;
};

class session_store {
 public:
  session_store(std::chrono::seconds idle, std::chrono::seconds absolute, std::size_t max_sessions = 10000)
      : idle_(idle), absolute_(absolute), max_(max_sessions) {}

  // A new session with a fresh random id and CSRF token (never reusing an
  // id the client presented: no session fixation).
  session_data create(session_data who, clock_type::time_point now);
  // The live session with that id, its idle timer restarted; nullopt when
  // unknown or expired (and then forgotten).
  std::optional<session_data> touch(std::string_view id, clock_type::time_point now);
  void remove(std::string_view id);
  // Ends every session of an account (disabled, deleted, password reset).
  std::size_t remove_account(std::string_view account_id);
  // Sets or lifts one session's enrol-only state; false when it is gone.
  bool set_enrol_only(std::string_view id, bool enrol_only);
  // Every session of an account becomes enrol-only (its second factor was
  // turned off while one is required).
  std::size_t restrict_account_to_enrolment(std::string_view account_id);
  std::size_t size() const;

 private:
  void sweep(clock_type::time_point now);
  bool expired(const session_data& s, clock_type::time_point now) const;
  std::chrono::seconds idle_;
  std::chrono::seconds absolute_;
  std::size_t max_;
  mutable std::mutex mu_;
  std::map<std::string, session_data, std::less<>> by_id_;
};

// Failed sign-ins counted per client IP and per account over a sliding
// minute. When either reaches the limit, further attempts are refused
// (429 with Retry-After) until the oldest failure leaves the window: a
// temporary lockout, so an attacker cannot lock an account out for longer
// than they keep failing.
class login_limiter {
 public:
  explicit login_limiter(unsigned per_minute, std::size_t max_keys = 100000)
      : limit_(per_minute == 0 ? 1 : per_minute), max_keys_(max_keys) {}
  // Seconds to wait before another attempt is allowed; 0 when allowed.
  std::chrono::seconds blocked_for(std::string_view ip, std::string_view account, clock_type::time_point now);
  void failure(std::string_view ip, std::string_view account, clock_type::time_point now);
  void success(std::string_view account);

 private:
  using window = std::deque<clock_type::time_point>;
  std::chrono::seconds wait(window& w, clock_type::time_point now);
  void add(std::map<std::string, window, std::less<>>& m, std::string_view key, clock_type::time_point now);
  unsigned limit_;
  std::size_t max_keys_;
  std::mutex mu_;
  std::map<std::string, window, std::less<>> by_ip_;
  std::map<std::string, window, std::less<>> by_account_;
};

}  // namespace homthu::admin
