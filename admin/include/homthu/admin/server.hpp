#pragma once
// The admin HTTPS server: operations endpoints (/healthz), mail-client
// autoconfiguration (Thunderbird autoconfig, Outlook Autodiscover), the
// console (static pages built into the binary) and the REST API under
// /api/v1 (admin/openapi.yaml).

#include "homthu/common/config.hpp"
#include "homthu/common/listener.hpp"
#include "homthu/common/metrics.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/directory/directory.hpp"
#include "homthu/directory/directory_admin.hpp"
#include "homthu/storage/delivery_log.hpp"
#include "homthu/storage/queue.hpp"
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
  // Provisioning for the REST API. Null: taken from `dir` when that object
  // implements directory_admin too (the LDAP backend does), else the
  // provisioning routes answer 503.
  directory::directory_admin* admin_dir = nullptr;
  // The outbound queue for the dashboard and the queue page; null: not shown.
  storage::outbound_queue* queue = nullptr;
  // The delivery log for its search page and the dashboard's mail-flow
  // charts; null: those answer 503.
  storage::delivery_log* delivery_log = nullptr;
  // The audit log and API tokens; empty: <storage.path>/admin.db.
  std::string records_path;
};

struct admin_state;

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
  std::unique_ptr<admin_state> state_;
  std::atomic<bool> stopping_{false};
};

}  // namespace homthu::admin
