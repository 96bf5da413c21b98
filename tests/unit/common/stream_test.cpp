// common::stream against real loopback sockets and a real TLS client.
#include "homthu/common/stream.hpp"
#include "homthu/common/tls.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <future>
#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace homthu::common;

namespace {

// Runs one awaitable to completion on io, which owns the stream's socket.
void run(asio::io_context& io, asio::awaitable<void> a) {
  asio::co_spawn(io, std::move(a), asio::detached);
  io.restart();
  io.run();
}

}  // namespace

// A session closes its stream, and the listener closes it again when the
// session returns. Between the two the kernel may hand the freed descriptor
// number to a new connection: the second close must not touch it. It once
// did: TLS shutdown, asked a second time, read the peer's close_notify
// through the old descriptor number and took the new client's first bytes
// ("EHLO " of its EHLO, or a TLS ClientHello).
TEST(stream, second_close_leaves_a_reused_descriptor_alone) {
  auto dir = std::filesystem::temp_directory_path() / ("homthu-stream-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto cert = (dir / "cert.pem").string();
  const auto key = (dir / "key.pem").string();
  generate_self_signed(cert, key, {"127.0.0.1"});
  auto server_ctx = make_server_tls_context(cert, key);

  asio::io_context cio;
  tcp::acceptor acceptor(cio, {asio::ip::make_address("127.0.0.1"), 0});
  tcp::socket client(cio);
  client.connect(acceptor.local_endpoint());
  tcp::socket accepted(cio);
  acceptor.accept(accepted);
  const int old_fd = accepted.native_handle();

  asio::io_context sio;
  stream s(tcp::socket(sio, tcp::v4(), accepted.release()));
  auto server = std::async(std::launch::async, [&] {
    error_code ec;
    run(sio, [&]() -> asio::awaitable<void> { co_await s.start_tls(*server_ctx, ec); }());
    return ec;
  });
  asio::ssl::context cctx(asio::ssl::context::tls_client);
  cctx.load_verify_file(cert);
  cctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket&> tls(client, cctx);
  tls.handshake(asio::ssl::stream_base::client);
  ASSERT_FALSE(server.get());

  run(sio, s.close());  // the session's close: close_notify out, descriptor freed

  // A new connection takes the lowest free descriptor number: the old one.
  tcp::socket victim(cio);
  victim.connect(acceptor.local_endpoint());
  ASSERT_EQ(victim.native_handle(), old_fd);
  tcp::socket victim_peer(cio);
  acceptor.accept(victim_peer);
  const std::string line = "EHLO victim.example\r\n";
  asio::write(victim_peer, asio::buffer(line));
  // The client's own close_notify, as the old peer would send it; a
  // shutdown reading it through the old number would find the victim's.
  boost::system::error_code ignored;
  tls.shutdown(ignored);

  run(sio, s.close());  // the listener's close

  std::string got(line.size(), '\0');
  victim.non_blocking(true);
  std::size_t n = 0;
  for (int i = 0; i < 100 && n < got.size(); ++i) {
    boost::system::error_code ec;
    n += victim.read_some(asio::buffer(got.data() + n, got.size() - n), ec);
    if (ec && ec != asio::error::would_block) {
      break;
    }
    if (n < got.size()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  EXPECT_EQ(got.substr(0, n), line);
  std::filesystem::remove_all(dir);
}
