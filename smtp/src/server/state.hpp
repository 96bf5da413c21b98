#pragma once
// State shared by every SMTP session of one server: services, the outbound
// queue, trusted networks and the AUTH failure record per IP. Sessions only
// read it except through the mutex-guarded members.

#include "homthu/smtp/server.hpp"
#include "../auth/checks.hpp"

#include <boost/asio/ip/address.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace homthu::smtp::detail {

struct network {
  boost::asio::ip::address addr;
  unsigned prefix = 0;
};

// "10.0.0.0/8", "192.0.2.7", "2001:db8::/32". Throws common::config_error.
network parse_network(const std::string& cidr);
bool in_network(const network& n, const boost::asio::ip::address& a);

// AUTH failures per client IP over a sliding window: the delay before a
// failure reply grows with them, and past a cap the IP may not try AUTH
// until the window passes (RELIABILITY.md A3). Accounts are never locked:
// that would be a denial of service on the account's owner.
class auth_penalties {
 public:
  unsigned recent(const std::string& ip);
  void failed(const std::string& ip);
  void succeeded(const std::string& ip);

  // Failures against one account from any address: they lengthen the delay
  // before each failure reply (a distributed guesser slows down), but never
  // block the account: the right password is answered at once.
  unsigned recent_account(const std::string& login);
  void failed_account(const std::string& login);

  static constexpr unsigned ban_after = 30;
  static constexpr std::chrono::minutes window{15};

 private:
  struct entry {
    unsigned count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mu_;
  std::map<std::string, entry> by_ip_;
  std::map<std::string, entry> by_account_;
};

// Events per key over a sliding window (two fixed buckets, weighted), for
// connection and message rates (RELIABILITY.md A1, issue 5 item 7).
class rate_limiter {
 public:
  explicit rate_limiter(std::chrono::steady_clock::duration window) : window_(window) {}
  // Counts one event for `key` unless that would exceed `limit` in the
  // window; false when over. limit 0: unlimited (nothing counted).
  bool hit(const std::string& key, unsigned limit);

 private:
  struct bucket {
    std::chrono::steady_clock::time_point start;
    unsigned current = 0;
    unsigned previous = 0;
  };
  std::chrono::steady_clock::duration window_;
  std::mutex mu_;
  std::map<std::string, bucket> buckets_;
};

// The DKIM signer for the configured keys (RSA and/or Ed25519); null when
// none. Throws common::config_error naming the key and file.
std::unique_ptr<auth::dkim_signer> make_dkim_signer(const common::smtp_config& smtp);

struct server_state {
  server_state(services s, server_options o);

  services svc;
  server_options opts;
  std::string hostname;
  std::unique_ptr<storage::outbound_queue> queue;
  std::string spill_dir;  // port-25 content past the in-memory hold (the queue's directory)
  std::vector<network> trusted;
  auth_penalties penalties;
  rate_limiter connection_rate{std::chrono::minutes(1)};   // per IP
  rate_limiter ip_message_rate{std::chrono::hours(1)};     // per IP, unauthenticated
  rate_limiter account_message_rate{std::chrono::hours(1)};
  // DKIM keys for outgoing mail (null: not signing) and the resolver and
  // verifier for inbound checks.
  std::unique_ptr<auth::dkim_signer> signer;
  std::shared_ptr<dns_resolver> dns;
  std::unique_ptr<auth::dkim_verifier> verifier;
  std::unique_ptr<auth::public_suffixes> psl;
  std::atomic<bool> stopping{false};
  std::atomic<std::uint64_t> message_counter{0};

  // Set by start_queue(); wakes the queue runner after a commit.
  std::mutex wake_mu;
  std::function<void()> wake_queue;
  void wake() {
    std::lock_guard lock(wake_mu);
    if (wake_queue) {
      wake_queue();
    }
  }

  bool is_local_domain(std::string_view domain) const;
  bool is_trusted(const std::string& ip) const;
  std::string primary_domain() const;
};

}  // namespace homthu::smtp::detail
