#pragma once
// A client connection that starts as plain TCP and may become TLS, either at
// once (implicit TLS: 465, 993) or on STARTTLS. Protocol sessions are written
// once against this type instead of being templated on the stream: the switch
// is one branch per operation, and it lets STARTTLS replace the transport in
// the middle of a session without restarting its coroutine.
//
// TLS drives OpenSSL directly on the non-blocking socket (SSL over a socket
// BIO, waiting for readiness with socket.async_wait) rather than through
// asio::ssl::stream: asio's stream keeps four 17 KiB buffers per connection
// for its whole life (two in stream_core, two in the engine's BIO pair),
// which was most of an idle IMAP connection's memory (imap/README.md). Here an
// idle connection holds only the SSL object: with SSL_MODE_RELEASE_BUFFERS
// OpenSSL frees its record buffers whenever no record is in flight.
//
// Every operation runs under the deadline set with expires_after(); when it
// passes, the operation fails with beast::error::timeout and the session ends.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace homthu::common {

namespace asio = boost::asio;
namespace beast = boost::beast;
using error_code = boost::system::error_code;

class stream {
 public:
  explicit stream(asio::ip::tcp::socket socket);
  ~stream();
  stream(const stream&) = delete;
  stream& operator=(const stream&) = delete;

  // Reads what is available into buf (at least one byte). Returns 0 and sets
  // ec on error, timeout or end of stream.
  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buf, error_code& ec);
  // Writes all of buf.
  asio::awaitable<void> write(asio::const_buffer buf, error_code& ec);
  // Completes when read_some would not wait: bytes (or end of stream, or an
  // error) are on the socket, or TLS holds decrypted bytes not yet read. It
  // reads nothing and holds no buffer meanwhile, so a caller can wait for the
  // next command without keeping its read buffer. Under the same deadline.
  asio::awaitable<void> wait_readable(error_code& ec);

  // Server-side TLS handshake over the current TCP connection. The caller
  // must have discarded any bytes it buffered before the handshake
  // (RFC 3207 §4.2, RFC 9051 §6.2.1, CVE-2011-0411).
  asio::awaitable<void> start_tls(asio::ssl::context& ctx, error_code& ec);
  // Orderly close: TLS close_notify when TLS is up, then TCP shutdown.
  asio::awaitable<void> close();

  void expires_after(std::chrono::steady_clock::duration d);
  void expires_never();

  // Bytes received on the TCP socket and not yet read (before TLS: the
  // client's pipelined or early data). Used to catch clients that talk
  // before the greeting (RELIABILITY.md S5).
  std::size_t available();

  bool is_tls() const { return tls_; }
  // Negotiated protocol and cipher, e.g. "TLSv1.3" "TLS_AES_256_GCM_SHA384";
  // empty when plain.
  std::string tls_version() const;
  std::string tls_cipher() const;
  const asio::ip::tcp::endpoint& remote() const { return remote_; }
  const asio::ip::tcp::endpoint& local() const { return local_; }

 private:
  struct state;
  enum class tls_op { handshake, read, write, shutdown };
  // Runs one OpenSSL call until it completes, waiting on the socket whenever
  // OpenSSL asks to; returns the bytes moved (read/write).
  asio::awaitable<std::size_t> tls_run(tls_op op, void* data, std::size_t size, error_code& ec);
  // Waits for the socket to become readable (or writable) under the deadline.
  asio::awaitable<void> wait(bool for_read, error_code& ec);
  void arm_deadline(std::chrono::steady_clock::time_point at);

  // The socket, the deadline timer and the TLS state; shared with the
  // timer's handler so that a late expiry never touches a dead stream.
  std::shared_ptr<state> s_;
  bool tls_ = false;
  asio::ip::tcp::endpoint remote_;
  asio::ip::tcp::endpoint local_;
};

}  // namespace homthu::common
