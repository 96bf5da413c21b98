// Plain-or-TLS connection. Trusts nothing from the peer; owns no protocol
// state. Invariants: every operation runs on the connection's strand (the
// socket's executor), so OpenSSL calls on one SSL object never overlap; a
// read and a write may both be waiting at once (IMAP IDLE), each retrying its
// own OpenSSL call with the same arguments as OpenSSL requires.
#include "homthu/common/stream.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <sys/socket.h>

namespace homthu::common {

namespace {

constexpr auto tls_shutdown_timeout = std::chrono::seconds(5);
using clock = std::chrono::steady_clock;

// A socket BIO of our own: OpenSSL's writes with write(2), which raises
// SIGPIPE on a connection the peer reset; send(MSG_NOSIGNAL) does not.
int fd_of(BIO* b) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(b))); }

int bio_write(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::send(fd_of(b), data, static_cast<std::size_t>(len), MSG_NOSIGNAL);
    if (n >= 0) {
      return static_cast<int>(n);
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(b);
    }
    return -1;
  }
}

int bio_read(BIO* b, char* data, int len) {
  BIO_clear_retry_flags(b);
  for (;;) {
    auto n = ::recv(fd_of(b), data, static_cast<std::size_t>(len), 0);
    if (n >= 0) {
      return static_cast<int>(n);  // 0: the peer closed
    }
    if (errno == EINTR) {
      continue;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(b);
    }
    return -1;
  }
}

long bio_ctrl(BIO*, int cmd, long, void*) {
  // Nothing is buffered here: flush succeeds at once, nothing is pending.
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD* socket_method() {
  // Built once, never changed afterwards.
  static BIO_METHOD* const m = [] {
    BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "homthu socket");
    if (bm == nullptr) {
      throw std::bad_alloc();
    }
    BIO_meth_set_write(bm, bio_write);
    BIO_meth_set_read(bm, bio_read);
    BIO_meth_set_ctrl(bm, bio_ctrl);
    return bm;
  }();
  return m;
}

}  // namespace

struct stream::state {
  explicit state(asio::ip::tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  ~state() {
    if (ssl != nullptr) {
      SSL_free(ssl);  // frees the BIO; the socket closes itself
    }
  }
  state(const state&) = delete;
  state& operator=(const state&) = delete;

  asio::ip::tcp::socket socket;
  asio::steady_timer timer;
  clock::time_point expiry = clock::time_point::max();
  std::uint64_t generation = 0;  // a handler of an earlier deadline does nothing
  bool timed_out = false;
  SSL* ssl = nullptr;
  bool tls_failed = false;       // after a fatal TLS error: no close_notify
  bool closing = false;          // close() has begun: a second call returns
};

stream::stream(asio::ip::tcp::socket socket) {
  error_code ec;
  remote_ = socket.remote_endpoint(ec);
  local_ = socket.local_endpoint(ec);
  socket.set_option(asio::ip::tcp::no_delay(true), ec);
  s_ = std::make_shared<state>(std::move(socket));
}

stream::~stream() = default;

void stream::arm_deadline(clock::time_point at) {
  auto& s = *s_;
  s.expiry = at;
  s.timed_out = false;
  ++s.generation;
  if (at == clock::time_point::max()) {
    s.timer.cancel();
    return;
  }
  s.timer.expires_at(at);
  std::weak_ptr<state> weak = s_;
  s.timer.async_wait([weak, gen = s.generation](error_code ec) {
    auto st = weak.lock();
    if (ec || !st || st->generation != gen) {
      return;
    }
    // Every waiting operation ends with operation_aborted and reports the
    // timeout; later ones fail at once until a new deadline is set.
    st->timed_out = true;
    error_code ignored;
    st->socket.cancel(ignored);
  });
}

void stream::expires_after(clock::duration d) { arm_deadline(clock::now() + d); }
void stream::expires_never() { arm_deadline(clock::time_point::max()); }

asio::awaitable<void> stream::wait(bool for_read, error_code& ec) {
  auto s = s_;
  if (s->timed_out) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await s->socket.async_wait(for_read ? asio::socket_base::wait_read : asio::socket_base::wait_write,
                                asio::redirect_error(asio::use_awaitable, ec));
  if (s->timed_out) {
    ec = beast::error::timeout;
  }
}

asio::awaitable<std::size_t> stream::tls_run(tls_op op, void* data, std::size_t size, error_code& ec) {
  ec = {};
  auto s = s_;
  if (!s->socket.is_open()) {
    // The BIO knows the descriptor by number only, and a closed number may
    // already belong to another connection.
    ec = asio::error::bad_descriptor;
    co_return 0;
  }
  for (;;) {
    if (s->timed_out) {
      ec = beast::error::timeout;
      co_return 0;
    }
    ERR_clear_error();
    errno = 0;
    std::size_t n = 0;
    int r = 0;
    switch (op) {
      case tls_op::handshake:
        r = SSL_do_handshake(s->ssl);
        break;
      case tls_op::read:
        r = SSL_read_ex(s->ssl, data, size, &n);
        break;
      case tls_op::write:
        r = SSL_write_ex(s->ssl, data, size, &n);
        break;
      case tls_op::shutdown:
        // 0: our close_notify is out; the peer's is not awaited (RFC 8446
        // §6.1 allows closing without it).
        r = SSL_shutdown(s->ssl);
        if (r == 0) {
          r = 1;
        }
        break;
    }
    if (r > 0) {
      co_return n;
    }
    const int err = SSL_get_error(s->ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
      co_await wait(err == SSL_ERROR_WANT_READ, ec);
      if (ec) {
        co_return 0;
      }
      continue;
    }
    if (err == SSL_ERROR_ZERO_RETURN) {
      ec = asio::error::eof;  // the peer's close_notify
      co_return 0;
    }
    s->tls_failed = true;
    if (err == SSL_ERROR_SYSCALL) {
      const int e = errno;
      ec = e != 0 ? error_code(e, asio::error::get_system_category()) : error_code(asio::ssl::error::stream_truncated);
      co_return 0;
    }
    const unsigned long e = ERR_get_error();
    if (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
      ec = asio::ssl::error::stream_truncated;
    } else {
      ec = error_code(static_cast<int>(e), asio::error::get_ssl_category());
    }
    ERR_clear_error();
    co_return 0;
  }
}

asio::awaitable<std::size_t> stream::read_some(asio::mutable_buffer buf, error_code& ec) {
  ec = {};
  if (buf.size() == 0) {
    co_return 0;
  }
  if (tls_) {
    co_return co_await tls_run(tls_op::read, buf.data(), buf.size(), ec);
  }
  auto s = s_;
  if (s->timed_out) {
    ec = beast::error::timeout;
    co_return 0;
  }
  auto n = co_await s->socket.async_read_some(buf, asio::redirect_error(asio::use_awaitable, ec));
  if (ec && s->timed_out) {
    ec = beast::error::timeout;
  }
  co_return n;
}

asio::awaitable<void> stream::write(asio::const_buffer buf, error_code& ec) {
  ec = {};
  if (buf.size() == 0) {
    co_return;
  }
  if (tls_) {
    co_await tls_run(tls_op::write, const_cast<void*>(buf.data()), buf.size(), ec);
    co_return;
  }
  auto s = s_;
  if (s->timed_out) {
    ec = beast::error::timeout;
    co_return;
  }
  co_await asio::async_write(s->socket, buf, asio::redirect_error(asio::use_awaitable, ec));
  if (ec && s->timed_out) {
    ec = beast::error::timeout;
  }
}

asio::awaitable<void> stream::wait_readable(error_code& ec) {
  ec = {};
  // A record already read from the socket (or its decrypted bytes) is not
  // on the socket any more: waiting there would hang a pipelined command.
  if (tls_ && SSL_has_pending(s_->ssl) == 1) {
    co_return;
  }
  co_await wait(true, ec);
}

asio::awaitable<void> stream::start_tls(asio::ssl::context& ctx, error_code& ec) {
  ec = {};
  if (tls_) {
    ec = asio::error::already_connected;
    co_return;
  }
  auto& s = *s_;
  s.socket.non_blocking(true, ec);
  if (ec) {
    co_return;
  }
  s.ssl = SSL_new(ctx.native_handle());
  BIO* bio = s.ssl ? BIO_new(socket_method()) : nullptr;
  if (bio == nullptr) {
    ec = asio::error::no_memory;
    co_return;
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(s.socket.native_handle())));
  BIO_set_init(bio, 1);
  SSL_set_bio(s.ssl, bio, bio);
  // An idle TLS connection keeps no record buffers (issue 6: memory per
  // idle IMAP connection); the context sets it too.
  SSL_set_mode(s.ssl, SSL_MODE_RELEASE_BUFFERS);
  SSL_set_accept_state(s.ssl);
  tls_ = true;
  co_await tls_run(tls_op::handshake, nullptr, 0, ec);
}

asio::awaitable<void> stream::close() {
  error_code ec;
  auto s = s_;
  if (s->closing) {
    // A session closes its stream and the listener closes it again: the
    // second call must not run a TLS shutdown, which would read the peer's
    // close_notify through a descriptor number the kernel may have given to
    // a new connection since (and take that client's first bytes).
    co_return;
  }
  s->closing = true;
  if (tls_ && !s->tls_failed) {
    arm_deadline(clock::now() + tls_shutdown_timeout);
    co_await tls_run(tls_op::shutdown, nullptr, 0, ec);
  }
  arm_deadline(clock::time_point::max());
  s->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  s->socket.close(ec);
}

std::size_t stream::available() {
  error_code ec;
  auto n = s_->socket.available(ec);
  return ec ? 0 : n;
}

std::string stream::tls_version() const {
  return tls_ ? SSL_get_version(s_->ssl) : std::string{};
}

std::string stream::tls_cipher() const {
  if (!tls_) {
    return {};
  }
  const char* name = SSL_get_cipher_name(s_->ssl);
  return name ? name : "";
}

}  // namespace homthu::common
