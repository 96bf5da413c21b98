#pragma once
// The SMTP server: MX (25), submission (587, STARTTLS) and submissions (465,
// implicit TLS), local delivery into storage, and the outbound queue's
// workers. homthud creates one server and hands its session()/reject() to
// the listeners; everything blocking goes through services.workers.

#include "homthu/common/config.hpp"
#include "homthu/common/listener.hpp"
#include "homthu/common/stream.hpp"
#include "homthu/common/tls.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/directory/directory.hpp"
#include "homthu/smtp/dns.hpp"
#include "homthu/storage/delivery_log.hpp"
#include "homthu/storage/queue.hpp"
#include "homthu/storage/store.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <string_view>

namespace homthu::smtp {

struct services {
  const common::config& cfg;
  directory::directory& dir;
  storage::store& store;
  common::worker_pool& workers;
  std::shared_ptr<common::tls_provider> tls;
  // Where each hop of a message is recorded (received, delivered, queued,
  // relayed, deferred, bounced, rejected); null: not recorded.
  storage::delivery_log* delivery_log = nullptr;
};

enum class listener_kind { mx, submission, submissions };  // 25, 587 (STARTTLS), 465 (implicit TLS)

// Knobs the daemon never changes but tests do.
struct server_options {
  // Outbound queue root; empty: storage::default_queue_path(cfg).
  std::string queue_path;
  // Seconds to wait before the first retry; doubled per attempt, capped at
  // max_retry_delay (RFC 5321 §4.5.4.1: at least 30 minutes in production).
  std::int64_t first_retry_delay = 15 * 60;
  std::int64_t max_retry_delay = 4 * 3600;
  // How often the queue looks for due work when nothing wakes it.
  std::int64_t queue_poll_seconds = 30;
  // Outbound SMTP port for MX deliveries (25; tests point it elsewhere).
  unsigned short mx_port = 25;
  // Delay before the reply to a failed AUTH, per recent failure from the IP.
  std::int64_t auth_failure_delay_ms = 2000;
  // Rate limits (0: none). New connections per client IP per minute
  // (trusted networks exempt) → 421 4.7.0; messages per client IP per hour
  // for unauthenticated clients → 450 4.7.1. The per-account rate is
  // cfg.smtp.messages_per_hour_per_account.
  unsigned connections_per_ip_per_minute = 600;
  unsigned messages_per_ip_per_hour = 0;
  // Slow-client floor on DATA/BDAT content (RELIABILITY.md A2, Postfix 3.7's
  // 500 B/s): after the grace period a client averaging less is cut off.
  std::uint64_t min_data_rate = 500;
  std::chrono::milliseconds min_data_rate_grace{30000};
  // DNS for SPF, DKIM and DMARC checks; null: c-ares with cfg.smtp.dns_servers.
  std::shared_ptr<dns_resolver> dns;
};

// The options the daemon runs with: the [smtp] keys of the configuration.
server_options options_from(const common::config& cfg);

// Loads the configured DKIM keys as start-up would (homthud --check);
// throws common::config_error naming the key and file.
void check_dkim_keys(const common::config& cfg);

class server {
 public:
  explicit server(services s);
  server(services s, server_options opts);
  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  boost::asio::awaitable<void> session(common::stream& s, const common::connection_info& info, listener_kind kind);
  // Over the connection caps: "421 4.7.0 <reason>" and close.
  boost::asio::awaitable<void> reject(common::stream& s, const common::connection_info& info, std::string_view reason);
  // Starts the outbound queue workers on the executor; stop() ends them.
  void start_queue(boost::asio::any_io_executor ex);
  void stop();

  // The queue this server fills and empties (for tests and metrics).
  storage::outbound_queue& queue();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace homthu::smtp
