// Shared server state: trusted networks, AUTH failure records, domain
// checks. Input: configuration (trusted) and peer IPs from the listener.
#include "state.hpp"

#include "homthu/common/address.hpp"

namespace homthu::smtp::detail {

network parse_network(const std::string& cidr) {
  network n;
  const auto slash = cidr.find('/');
  boost::system::error_code ec;
  n.addr = boost::asio::ip::make_address(cidr.substr(0, slash), ec);
  if (ec) {
    throw common::config_error("smtp.trusted_networks: \"" + cidr + "\" is not an address or CIDR network");
  }
  const unsigned max = n.addr.is_v4() ? 32 : 128;
  n.prefix = max;
  if (slash != std::string::npos) {
    try {
      n.prefix = static_cast<unsigned>(std::stoul(cidr.substr(slash + 1)));
    } catch (const std::exception&) {
      throw common::config_error("smtp.trusted_networks: bad prefix in \"" + cidr + "\"");
    }
    if (n.prefix > max) {
      throw common::config_error("smtp.trusted_networks: bad prefix in \"" + cidr + "\"");
    }
  }
  return n;
}

bool in_network(const network& n, const boost::asio::ip::address& a0) {
  auto a = a0;
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    a = boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
  }
  if (a.is_v4() != n.addr.is_v4()) {
    return false;
  }
  auto bytes_of = [](const boost::asio::ip::address& x) {
    std::vector<unsigned char> b;
    if (x.is_v4()) {
      auto v = x.to_v4().to_bytes();
      b.assign(v.begin(), v.end());
    } else {
      auto v = x.to_v6().to_bytes();
      b.assign(v.begin(), v.end());
    }
    return b;
  };
  const auto x = bytes_of(a);
  const auto y = bytes_of(n.addr);
  unsigned bits = n.prefix;
  for (std::size_t i = 0; i < x.size() && bits > 0; ++i) {
    const unsigned take = std::min(bits, 8u);
    const unsigned char mask = static_cast<unsigned char>(0xff << (8 - take));
    if ((x[i] & mask) != (y[i] & mask)) {
      return false;
    }
    bits -= take;
  }
  return true;
}

unsigned auth_penalties::recent(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto it = by_ip_.find(ip);
  if (it == by_ip_.end()) {
    return 0;
  }
  if (std::chrono::steady_clock::now() - it->second.last > window) {
    by_ip_.erase(it);
    return 0;
  }
  return it->second.count;
}

void auth_penalties::failed(const std::string& ip) {
  std::lock_guard lock(mu_);
  auto& e = by_ip_[ip];
  const auto now = std::chrono::steady_clock::now();
  if (now - e.last > window) {
    e.count = 0;
  }
  ++e.count;
  e.last = now;
  // Bound the table: forget the stalest entries when it grows large.
  if (by_ip_.size() > 100000) {
    for (auto it = by_ip_.begin(); it != by_ip_.end();) {
      it = now - it->second.last > window ? by_ip_.erase(it) : std::next(it);
    }
  }
}

unsigned auth_penalties::recent_account(const std::string& login) {
  std::lock_guard lock(mu_);
  auto it = by_account_.find(common::to_lower_ascii(login));
  if (it == by_account_.end()) {
    return 0;
  }
  if (std::chrono::steady_clock::now() - it->second.last > window) {
    by_account_.erase(it);
    return 0;
  }
  return it->second.count;
}

void auth_penalties::failed_account(const std::string& login) {
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (by_account_.size() > 100000) {
    for (auto it = by_account_.begin(); it != by_account_.end();) {
      it = now - it->second.last > window ? by_account_.erase(it) : std::next(it);
    }
  }
  auto& e = by_account_[common::to_lower_ascii(login.substr(0, 256))];
  if (now - e.last > window) {
    e.count = 0;
  }
  ++e.count;
  e.last = now;
}

bool rate_limiter::hit(const std::string& key, unsigned limit) {
  if (limit == 0) {
    return true;
  }
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (buckets_.size() > 100000) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      it = now - it->second.start > 2 * window_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, fresh] = buckets_.try_emplace(key);
  auto& b = it->second;
  if (fresh) {
    b.start = now;
  }
  while (now - b.start >= window_) {
    const bool skipped = now - b.start >= 2 * window_;
    b.previous = skipped ? 0 : b.current;
    b.current = 0;
    b.start = skipped ? now : b.start + window_;
  }
  // The previous bucket counts for the part of it still inside the window.
  const double into = std::chrono::duration<double>(now - b.start) / std::chrono::duration<double>(window_);
  const double estimate = b.previous * (1.0 - into) + b.current;
  if (estimate + 1 > limit) {
    return false;
  }
  ++b.current;
  return true;
}

void auth_penalties::succeeded(const std::string& ip) {
  std::lock_guard lock(mu_);
  by_ip_.erase(ip);
}

std::unique_ptr<auth::dkim_signer> make_dkim_signer(const common::smtp_config& smtp) {
  std::vector<auth::dkim_key> keys;
  if (!smtp.dkim_selector.empty()) {
    keys.push_back(auth::load_dkim_key(smtp.dkim_selector, smtp.dkim_key_file));
  }
  if (!smtp.dkim_ed25519_selector.empty()) {
    auto k = auth::load_dkim_key(smtp.dkim_ed25519_selector, smtp.dkim_ed25519_key_file,
                                "smtp.dkim_ed25519_key_file");
    if (!k.ed25519) {
      throw common::config_error("smtp.dkim_ed25519_key_file: " + smtp.dkim_ed25519_key_file +
                                 " is not an Ed25519 key");
    }
    keys.push_back(std::move(k));
  }
  if (keys.empty()) {
    return nullptr;
  }
  return std::make_unique<auth::dkim_signer>(std::move(keys));
}

server_state::server_state(services s, server_options o) : svc(std::move(s)), opts(std::move(o)) {
  hostname = svc.cfg.server.hostname;
  for (const auto& n : svc.cfg.smtp.trusted_networks) {
    trusted.push_back(parse_network(n));
  }
  const auto path = opts.queue_path.empty()
                        ? storage::default_queue_path(svc.cfg.storage.path, svc.cfg.server.data_dir)
                        : opts.queue_path;
  storage::queue_options qo;
  qo.path = path;
  qo.fsync = svc.cfg.storage.fsync;
  queue = storage::open_queue(qo);
  spill_dir = path;
  const auto& smtp = svc.cfg.smtp;
  signer = make_dkim_signer(smtp);
  dns = opts.dns ? opts.dns : make_caching_resolver(make_cares_resolver(smtp.dns_servers));
  verifier = std::make_unique<auth::dkim_verifier>(dns);
  psl = std::make_unique<auth::public_suffixes>();
}

bool server_state::is_local_domain(std::string_view domain) const {
  if (domain.empty()) {
    return false;
  }
  return svc.cfg.is_local_domain(domain) || svc.dir.is_local_domain(common::to_lower_ascii(domain));
}

bool server_state::is_trusted(const std::string& ip) const {
  if (trusted.empty()) {
    return false;
  }
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(ip, ec);
  if (ec) {
    return false;
  }
  for (const auto& n : trusted) {
    if (in_network(n, a)) {
      return true;
    }
  }
  return false;
}

std::string server_state::primary_domain() const {
  return svc.cfg.server.domains.empty() ? svc.cfg.server.hostname : svc.cfg.server.domains.front();
}

}  // namespace homthu::smtp::detail
