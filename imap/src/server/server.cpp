// Entry points homthud wires to the "imap" and "imaps" listeners. Trusts the
// listener to have applied connection caps and, for "imaps", the TLS
// handshake; everything else is the session's job.
#include "server_impl.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace homthu::imap {

server::server(services s) : impl_(std::make_unique<impl>(std::move(s))) {}
server::~server() = default;

asio::awaitable<void> server::session(common::stream& s, const common::connection_info& info) {
  imap::session sess(*impl_, s, info);
  co_await sess.run();
}

asio::awaitable<void> server::reject(common::stream& s, const common::connection_info&,
                                     std::string_view reason) {
  // RFC 5530 §3: UNAVAILABLE. The reason comes from the listener, not the client.
  std::string line = "* BYE [UNAVAILABLE] " + std::string(reason) + "\r\n";
  common::error_code ec;
  s.expires_after(std::chrono::seconds(10));
  co_await s.write(asio::buffer(line), ec);
  co_await s.close();
}

void server::stop() {
  std::lock_guard lock(impl_->mu);
  impl_->stopped = true;
  for (auto& [_, weak] : impl_->sessions) {
    if (auto c = weak.lock()) {
      asio::post(c->wake.get_executor(), [weak] {
        if (auto c2 = weak.lock()) {
          c2->stopping = true;
          c2->notify();
        }
      });
    }
  }
}

}  // namespace homthu::imap
