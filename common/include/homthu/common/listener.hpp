#pragma once
// Accept loops. A listener owns its acceptor, enforces the per-listener and
// per-IP connection caps, and spawns one coroutine per connection running the
// protocol's session function on a strand of its own. Over-cap connections
// are handed to `reject` (which may write a 421 / BYE) and closed.
// Implicit-TLS listeners complete the handshake before calling the session.
//
// Shutdown: stop() closes acceptors; sessions watch `stopping()` and the
// daemon waits up to shutdown_grace for active() to reach zero.

#include "homthu/common/metrics.hpp"
#include "homthu/common/stream.hpp"
#include "homthu/common/tls.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace homthu::common {

struct connection_info {
  std::string listener;       // "smtp", "submission", "imaps", …
  std::string session_id;
  std::string peer_ip;
  bool implicit_tls = false;
};

using session_fn = std::function<asio::awaitable<void>(stream&, const connection_info&)>;
using reject_fn = std::function<asio::awaitable<void>(stream&, const connection_info&, std::string_view reason)>;

struct listener_options {
  std::string name;
  std::vector<std::string> addresses;
  bool implicit_tls = false;
  unsigned max_connections = 20000;
  unsigned max_per_ip = 50;
  // Implicit-TLS handshakes started per second (token bucket, burst of one
  // second's worth); beyond it connections are closed before the handshake,
  // so a flood cannot spend every core on RSA/ECDHE (RELIABILITY.md A5).
  unsigned tls_handshakes_per_second = 200;
  std::chrono::seconds handshake_timeout{30};
};

// "127.0.0.1:25", "[::1]:993", "*:25" → endpoint. Throws config_error.
asio::ip::tcp::endpoint parse_endpoint(const std::string& address);

class listener_set {
 public:
  listener_set(asio::io_context& io, std::shared_ptr<tls_provider> tls, metrics* m = nullptr);
  // Binds now (so a port in use fails start-up before anything else runs).
  // Throws std::runtime_error "listen <name> <address>: <reason>".
  void add(const listener_options& opts, session_fn session, reject_fn reject = {});
  // Starts accepting on every bound listener.
  void start();
  void stop();
  bool stopping() const { return stopping_.load(); }
  std::size_t active() const { return active_->load(); }
  // Actual bound endpoints (useful with port 0), by listener name.
  std::vector<asio::ip::tcp::endpoint> endpoints(const std::string& name) const;

 private:
  struct entry;
  asio::awaitable<void> accept_loop(std::shared_ptr<entry> e);
  asio::awaitable<void> run_session(std::shared_ptr<entry> e, asio::ip::tcp::socket s);

  asio::io_context& io_;
  std::shared_ptr<tls_provider> tls_;
  metrics* metrics_;
  std::vector<std::shared_ptr<entry>> entries_;
  std::atomic<bool> stopping_{false};
  // Shared with each session's guard: an io_context destroyed after this
  // set still destroys the session frames, whose guards count down here.
  std::shared_ptr<std::atomic<std::size_t>> active_ = std::make_shared<std::atomic<std::size_t>>(0);
};

}  // namespace homthu::common
