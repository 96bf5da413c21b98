// Plain-or-TLS connection. Trusts nothing from the peer; owns no protocol
// state. Invariant: exactly one of plain_ and tls_ is set.
#include "homthu/common/stream.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/ssl.h>

namespace homthu::common {

namespace {
constexpr auto tls_shutdown_timeout = std::chrono::seconds(5);
}

stream::stream(asio::ip::tcp::socket socket) {
  error_code ec;
  remote_ = socket.remote_endpoint(ec);
  local_ = socket.local_endpoint(ec);
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  plain_ = std::make_unique<beast::tcp_stream>(std::move(socket));
}

stream::~stream() = default;

beast::tcp_stream& stream::tcp() { return tls_ ? tls_->next_layer() : *plain_; }

asio::awaitable<std::size_t> stream::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  if (tls_) {
    co_return co_await tls_->async_read_some(buf, token);
  }
  co_return co_await plain_->async_read_some(buf, token);
}

asio::awaitable<void> stream::write(asio::const_buffer buf, error_code& ec) {
  ec = {};
  auto token = asio::redirect_error(asio::use_awaitable, ec);
  if (tls_) {
    co_await asio::async_write(*tls_, buf, token);
  } else {
    co_await asio::async_write(*plain_, buf, token);
  }
}

asio::awaitable<void> stream::start_tls(asio::ssl::context& ctx, error_code& ec) {
  ec = {};
  if (tls_) {
    ec = asio::error::already_connected;
    co_return;
  }
  tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*plain_), ctx);
  plain_.reset();
  // An idle TLS connection keeps no read/write buffers (issue 6: memory per
  // idle IMAP connection).
  SSL_set_mode(tls_->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  co_await tls_->async_handshake(asio::ssl::stream_base::server,
                                 asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> stream::close() {
  error_code ec;
  if (tls_) {
    tcp().expires_after(tls_shutdown_timeout);
    co_await tls_->async_shutdown(asio::redirect_error(asio::use_awaitable, ec));
  }
  auto& sock = tcp().socket();
  sock.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  sock.close(ec);
}

std::size_t stream::available() {
  error_code ec;
  auto n = tcp().socket().available(ec);
  return ec ? 0 : n;
}

void stream::expires_after(std::chrono::steady_clock::duration d) { tcp().expires_after(d); }
void stream::expires_never() { tcp().expires_never(); }

std::string stream::tls_version() const {
  return tls_ ? SSL_get_version(tls_->native_handle()) : std::string{};
}

std::string stream::tls_cipher() const {
  if (!tls_) {
    return {};
  }
  const char* name = SSL_get_cipher_name(tls_->native_handle());
  return name ? name : "";
}

}  // namespace homthu::common
