// homthu::smtp::server: wiring between the listeners, the sessions and the
// queue runner. Input: connections handed over by common::listener_set.
#include "homthu/smtp/server.hpp"

#include "../queue/runner.hpp"
#include "homthu/smtp/proto/reply.hpp"
#include "session.hpp"

namespace homthu::smtp {

struct server::impl {
  impl(services s, server_options o) : st(std::move(s), std::move(o)) {}
  detail::server_state st;
  std::unique_ptr<detail::queue_runner> runner;
};

server_options options_from(const common::config& cfg) {
  const auto& m = cfg.smtp;
  server_options o;
  o.connections_per_ip_per_minute = m.connections_per_ip_per_minute;
  o.messages_per_ip_per_hour = m.messages_per_ip_per_hour;
  o.min_data_rate = m.min_data_rate;
  o.min_data_rate_grace = std::chrono::duration_cast<std::chrono::milliseconds>(m.min_data_rate_grace);
  o.auth_failure_delay_ms = std::chrono::duration_cast<std::chrono::milliseconds>(m.auth_failure_delay).count();
  return o;
}

void check_dkim_keys(const common::config& cfg) {
  detail::make_dkim_signer(cfg.smtp);
}

server::server(services s) : server(s, options_from(s.cfg)) {}

server::server(services s, server_options opts) : impl_(std::make_unique<impl>(std::move(s), std::move(opts))) {}

server::~server() { stop(); }

boost::asio::awaitable<void> server::session(common::stream& s, const common::connection_info& info,
                                             listener_kind kind) {
  detail::session sess(impl_->st, s, info, kind);
  co_await sess.run();
}

boost::asio::awaitable<void> server::reject(common::stream& s, const common::connection_info& info,
                                            std::string_view reason) {
  const auto line = proto::format(proto::make_reply(421, "4.7.0", impl_->st.hostname + " " + std::string(reason)));
  common::log::info("smtp.reject", {{"session", info.session_id}, {"peer", info.peer_ip}, {"reason", reason}});
  common::error_code ec;
  s.expires_after(std::chrono::seconds(10));
  co_await s.write(boost::asio::buffer(line), ec);
  co_await s.close();
}

void server::start_queue(boost::asio::any_io_executor ex) {
  if (impl_->runner) {
    return;
  }
  impl_->runner = std::make_unique<detail::queue_runner>(impl_->st, ex);
  impl_->runner->start();
}

void server::stop() {
  impl_->st.stopping = true;
  if (impl_->runner) {
    impl_->runner->stop();
    // The runner's timer belongs to the io_context, which is destroyed
    // before this server: drop our reference while the io_context runs. Its
    // coroutines and the posted stop hold the rest until they end.
    impl_->runner.reset();
  }
}

storage::outbound_queue& server::queue() { return *impl_->st.queue; }

}  // namespace homthu::smtp
