// Accept loops and connection caps. Trusts nothing from the peer; the only
// state shared between connections is the per-listener connection counts,
// kept under a mutex that is never held across I/O.
#include "homthu/common/listener.hpp"

#include "homthu/common/config.hpp"
#include "homthu/common/log.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <charconv>
#include <unordered_map>

namespace homthu::common {

using asio::ip::tcp;

struct listener_set::entry {
  listener_options opts;
  std::vector<tcp::acceptor> acceptors;
  session_fn session;
  reject_fn reject;
  std::mutex mu;
  unsigned total = 0;
  std::unordered_map<std::string, unsigned> per_ip;
  // Token bucket for implicit-TLS handshakes (RELIABILITY.md A5).
  double tokens = 0;
  std::chrono::steady_clock::time_point refilled = std::chrono::steady_clock::now();
  counter* accepted = nullptr;
  counter* refused = nullptr;
  gauge* open = nullptr;
};

tcp::endpoint parse_endpoint(const std::string& address) {
  std::string host;
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      throw config_error("\"" + address + "\": expected [address]:port");
    }
    host = address.substr(1, close - 1);
    port = std::string_view(address).substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) {
      throw config_error("\"" + address + "\": expected host:port");
    }
    host = address.substr(0, colon);
    port = std::string_view(address).substr(colon + 1);
  }
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc{} || ptr != port.data() + port.size() || p > 65535) {
    throw config_error("\"" + address + "\": bad port");
  }
  if (host == "*" || host.empty()) {
    return {tcp::v6(), static_cast<unsigned short>(p)};
  }
  if (host == "localhost") {
    host = "127.0.0.1";
  }
  boost::system::error_code aec;
  auto a = asio::ip::make_address(host, aec);
  if (aec) {
    throw config_error("\"" + address + "\": \"" + host + "\" is not an IP address");
  }
  return {a, static_cast<unsigned short>(p)};
}

listener_set::listener_set(asio::io_context& io, std::shared_ptr<tls_provider> tls, metrics* m)
    : io_(io), tls_(std::move(tls)), metrics_(m) {}

void listener_set::add(const listener_options& opts, session_fn session, reject_fn reject) {
  auto e = std::make_shared<entry>();
  e->opts = opts;
  e->session = std::move(session);
  e->reject = std::move(reject);
  e->tokens = opts.tls_handshakes_per_second;
  if (metrics_) {
    const std::string label = "{listener=\"" + opts.name + "\"}";
    e->accepted = &metrics_->get_counter("homthu_connections_total" + label, "Connections accepted");
    e->refused = &metrics_->get_counter("homthu_connections_refused_total" + label,
                                        "Connections refused by the connection caps");
    e->open = &metrics_->get_gauge("homthu_connections_open" + label, "Connections open now");
  }
  if (opts.implicit_tls && !tls_) {
    throw std::runtime_error("listen " + opts.name + ": implicit TLS needs [tls] cert and key");
  }
  for (const auto& a : opts.addresses) {
    auto ep = parse_endpoint(a);
    tcp::acceptor acc(io_);
    boost::system::error_code ec;
    acc.open(ep.protocol(), ec);
    if (!ec) {
      acc.set_option(tcp::acceptor::reuse_address(true), ec);
      if (ep.address().is_v6() && ep.address().is_unspecified()) {
        acc.set_option(asio::ip::v6_only(false), ec);
      }
      ec = {};
      acc.bind(ep, ec);
    }
    if (!ec) {
      acc.listen(asio::socket_base::max_listen_connections, ec);
    }
    if (ec) {
      throw std::runtime_error("listen " + opts.name + " " + a + ": " + ec.message());
    }
    e->acceptors.push_back(std::move(acc));
  }
  entries_.push_back(std::move(e));
}

void listener_set::start() {
  for (auto& e : entries_) {
    for (std::size_t i = 0; i < e->acceptors.size(); ++i) {
      asio::co_spawn(
          io_,
          [this, e, i]() -> asio::awaitable<void> {
            auto& acc = e->acceptors[i];
            while (!stopping_) {
              boost::system::error_code ec;
              auto sock = co_await acc.async_accept(asio::make_strand(io_),
                                                    asio::redirect_error(asio::use_awaitable, ec));
              if (ec) {
                if (stopping_ || ec == asio::error::operation_aborted) {
                  break;
                }
                // EMFILE and friends: log, pause briefly, keep serving.
                log::warn("listener.accept_failed", {{"listener", e->opts.name}, {"error", ec.message()}});
                asio::steady_timer t(io_, std::chrono::milliseconds(100));
                co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
                continue;
              }
              auto ex = sock.get_executor();
              asio::co_spawn(ex, run_session(e, std::move(sock)), asio::detached);
            }
          },
          asio::detached);
    }
  }
}

void listener_set::stop() {
  stopping_ = true;
  for (auto& e : entries_) {
    for (auto& acc : e->acceptors) {
      boost::system::error_code ec;
      acc.close(ec);
    }
  }
}

std::vector<tcp::endpoint> listener_set::endpoints(const std::string& name) const {
  std::vector<tcp::endpoint> out;
  for (const auto& e : entries_) {
    if (e->opts.name == name) {
      for (const auto& acc : e->acceptors) {
        boost::system::error_code ec;
        out.push_back(acc.local_endpoint(ec));
      }
    }
  }
  return out;
}

asio::awaitable<void> listener_set::run_session(std::shared_ptr<entry> e, tcp::socket sock) {
  stream s(std::move(sock));
  connection_info info;
  info.listener = e->opts.name;
  info.session_id = log::new_session_id();
  info.peer_ip = s.remote().address().to_string();
  info.implicit_tls = e->opts.implicit_tls;
  // IPv4-mapped IPv6 peers count as their IPv4 address.
  if (s.remote().address().is_v6() && s.remote().address().to_v6().is_v4_mapped()) {
    info.peer_ip = asio::ip::make_address_v4(asio::ip::v4_mapped, s.remote().address().to_v6()).to_string();
  }

  std::string refusal;
  {
    std::lock_guard lock(e->mu);
    if (e->total >= e->opts.max_connections) {
      refusal = "too many connections";
    } else if (e->per_ip[info.peer_ip] >= e->opts.max_per_ip) {
      refusal = "too many connections from your address";
    } else if (e->opts.implicit_tls) {
      auto now = std::chrono::steady_clock::now();
      double dt = std::chrono::duration<double>(now - e->refilled).count();
      e->refilled = now;
      const double rate = e->opts.tls_handshakes_per_second;
      e->tokens = std::min(rate, e->tokens + dt * rate);
      if (e->tokens < 1) {
        refusal = "too many new TLS connections, try again later";
      } else {
        e->tokens -= 1;
      }
    }
    if (refusal.empty()) {
      ++e->total;
      ++e->per_ip[info.peer_ip];
    }
  }
  if (refusal.empty() && stopping_) {
    refusal = "server shutting down";
  }
  if (!refusal.empty()) {
    if (e->refused) {
      e->refused->inc();
    }
    log::warn("listener.refused", {{"listener", info.listener}, {"peer", info.peer_ip}, {"reason", refusal}});
    if (e->reject && !e->opts.implicit_tls) {
      s.expires_after(std::chrono::seconds(5));
      try {
        co_await e->reject(s, info, refusal);
      } catch (const std::exception&) {
      }
    }
    co_await s.close();
    co_return;
  }

  ++*active_;
  if (e->accepted) {
    e->accepted->inc();
    e->open->add(1);
  }
  // Touches only shared state: it may run when the io_context is destroyed,
  // after this listener_set is gone.
  struct release {
    std::shared_ptr<std::atomic<std::size_t>> active;
    std::shared_ptr<entry> e;
    std::string ip;
    ~release() {
      std::lock_guard lock(e->mu);
      --e->total;
      auto it = e->per_ip.find(ip);
      if (it != e->per_ip.end() && --it->second == 0) {
        e->per_ip.erase(it);
      }
      --*active;
      if (e->open) {
        e->open->add(-1);
      }
    }
  } guard{active_, e, info.peer_ip};

  log::debug("listener.accepted", {{"listener", info.listener}, {"session", info.session_id}, {"peer", info.peer_ip}});
  try {
    if (e->opts.implicit_tls) {
      boost::system::error_code ec;
      auto ctx = tls_->current();
      s.expires_after(e->opts.handshake_timeout);
      co_await s.start_tls(*ctx, ec);
      if (ec) {
        log::info("tls.handshake_failed", {{"listener", info.listener}, {"session", info.session_id},
                                           {"peer", info.peer_ip}, {"error", ec.message()}});
        co_await s.close();
        co_return;
      }
    }
    co_await e->session(s, info);
  } catch (const std::exception& ex) {
    // A broken invariant in one session ends that session only.
    log::error("session.failed", {{"listener", info.listener}, {"session", info.session_id}, {"error", ex.what()}});
  }
  co_await s.close();
}

}  // namespace homthu::common
