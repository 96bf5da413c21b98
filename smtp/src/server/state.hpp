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

  static constexpr unsigned ban_after = 30;
  static constexpr std::chrono::minutes window{15};

 private:
  struct entry {
    unsigned count = 0;
    std::chrono::steady_clock::time_point last;
  };
  std::mutex mu_;
  std::map<std::string, entry> by_ip_;
};

struct server_state {
  server_state(services s, server_options o);

  services svc;
  server_options opts;
  std::string hostname;
  std::unique_ptr<storage::outbound_queue> queue;
  std::vector<network> trusted;
  auth_penalties penalties;
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
