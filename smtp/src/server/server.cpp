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

server::server(services s) : server(std::move(s), server_options{}) {}

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
  }
}

storage::outbound_queue& server::queue() { return *impl_->st.queue; }

}  // namespace homthu::smtp
