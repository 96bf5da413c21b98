#pragma once
// The admin HTTPS server: operations endpoints (/healthz), mail-client
// autoconfiguration (Thunderbird autoconfig, Outlook Autodiscover), and the
// console and REST API under /api/v1 as they are built.

#include "homthu/common/config.hpp"
#include "homthu/common/listener.hpp"
#include "homthu/common/metrics.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/directory/directory.hpp"
#include "homthu/storage/store.hpp"

#include <atomic>
#include <memory>

namespace homthu::admin {

struct services {
  const common::config& cfg;
  directory::directory& dir;
  storage::store& store;
  common::worker_pool& workers;
  std::shared_ptr<common::tls_provider> tls;
  common::metrics* metrics = nullptr;  // served at /metrics when set
};

struct request;
struct response;

class server {
 public:
  explicit server(services s);
  ~server();
  // One HTTPS connection (keep-alive, one request at a time).
  boost::asio::awaitable<void> session(common::stream& s, const common::connection_info& info);
  // Plain HTTP: every request is redirected to HTTPS (308), except
  // autoconfig, which some clients fetch over HTTP only.
  boost::asio::awaitable<void> redirect_session(common::stream& s, const common::connection_info& info);
  void stop();

  // The router, exposed for tests and fuzzing: no I/O.
  boost::asio::awaitable<response> handle(const request& req, bool over_tls);

 private:
  boost::asio::awaitable<void> serve(common::stream& s, const common::connection_info& info, bool tls);
  services svc_;
  std::atomic<bool> stopping_{false};
};

}  // namespace homthu::admin
