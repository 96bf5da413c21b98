// The listener framework against real loopback sockets: plain sessions,
// implicit TLS (checked with a TLS client that verifies our self-signed
// certificate), STARTTLS upgrade, per-IP caps and shutdown.
#include "homthu/common/listener.hpp"
#include "homthu/common/tls.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace homthu::common;

// The server context the echo session upgrades with.
asio::ssl::context* tls_for_tests = nullptr;
std::shared_ptr<asio::ssl::context> tls_for_tests_holder;

namespace {

// A line-echo protocol: "STARTTLS" upgrades, "QUIT" ends, anything else is
// echoed with the listener name and whether TLS is up.
asio::awaitable<void> echo_session(stream& s, const connection_info& info) {
  std::string buf;
  char chunk[512];
  error_code ec;
  co_await s.write(asio::buffer(std::string("hello ") + info.listener + "\r\n"), ec);
  for (;;) {
    s.expires_after(std::chrono::seconds(10));
    auto n = co_await s.read_some(asio::buffer(chunk), ec);
    if (ec) {
      co_return;
    }
    buf.append(chunk, n);
    std::size_t eol;
    while ((eol = buf.find("\r\n")) != std::string::npos) {
      std::string line = buf.substr(0, eol);
      buf.erase(0, eol + 2);
      if (line == "QUIT") {
        co_return;
      }
      if (line == "STARTTLS") {
        co_await s.write(asio::buffer(std::string("go\r\n")), ec);
        buf.clear();  // nothing pipelined in plain text survives the upgrade
        co_await s.start_tls(*tls_for_tests, ec);
        if (ec) {
          co_return;
        }
        continue;
      }
      std::string reply = line + (s.is_tls() ? " tls" : " plain") + "\r\n";
      co_await s.write(asio::buffer(reply), ec);
    }
  }
}

}  // namespace


class listener_fixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("homthu-listener-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    cert_ = (dir_ / "cert.pem").string();
    key_ = (dir_ / "key.pem").string();
    generate_self_signed(cert_, key_, {"localhost", "127.0.0.1"});
    tls_ = std::make_shared<tls_provider>(cert_, key_);
    tls_for_tests_holder = tls_->current();
    tls_for_tests = tls_for_tests_holder.get();
    set_ = std::make_unique<listener_set>(io_, tls_);
  }
  void TearDown() override {
    set_->stop();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    std::filesystem::remove_all(dir_);
  }
  void run() {
    set_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  unsigned short port(const std::string& name) { return set_->endpoints(name).at(0).port(); }

  std::string read_line(tcp::socket& s, asio::streambuf& b) {
    asio::read_until(s, b, "\r\n");
    std::istream is(&b);
    std::string line;
    std::getline(is, line);
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    return line;
  }

  asio::io_context io_;
  std::filesystem::path dir_;
  std::string cert_, key_;
  std::shared_ptr<tls_provider> tls_;
  std::unique_ptr<listener_set> set_;
  std::thread thread_;
};

TEST_F(listener_fixture, plain_session_and_starttls_upgrade) {
  set_->add({.name = "plain", .addresses = {"127.0.0.1:0"}}, echo_session);
  run();
  asio::io_context cio;
  tcp::socket s(cio);
  s.connect({asio::ip::make_address("127.0.0.1"), port("plain")});
  asio::streambuf b;
  EXPECT_EQ(read_line(s, b), "hello plain");
  // "INJECTED" is pipelined with STARTTLS in one segment: it must never run.
  asio::write(s, asio::buffer(std::string("PING\r\nSTARTTLS\r\nINJECTED\r\n")));
  EXPECT_EQ(read_line(s, b), "PING plain");
  EXPECT_EQ(read_line(s, b), "go");
  ASSERT_EQ(b.size(), 0u);

  asio::ssl::context cctx(asio::ssl::context::tls_client);
  cctx.load_verify_file(cert_);
  cctx.set_verify_mode(asio::ssl::verify_peer);
  asio::ssl::stream<tcp::socket&> tls(s, cctx);
  tls.handshake(asio::ssl::stream_base::client);
  EXPECT_STREQ(SSL_get_version(tls.native_handle()), "TLSv1.3");
  asio::write(tls, asio::buffer(std::string("PONG\r\n")));
  asio::streambuf tb;
  asio::read_until(tls, tb, "\r\n");
  std::string line((std::istreambuf_iterator<char>(&tb)), {});
  EXPECT_EQ(line, "PONG tls\r\n");  // not "INJECTED plain"
}

TEST_F(listener_fixture, implicit_tls_refuses_tls_1_1) {
  set_->add({.name = "tls", .addresses = {"127.0.0.1:0"}, .implicit_tls = true}, echo_session);
  run();
  {
    asio::io_context cio;
    tcp::socket s(cio);
    s.connect({asio::ip::make_address("127.0.0.1"), port("tls")});
    asio::ssl::context cctx(asio::ssl::context::tls_client);
    cctx.load_verify_file(cert_);
    cctx.set_verify_mode(asio::ssl::verify_peer);
    asio::ssl::stream<tcp::socket&> tls(s, cctx);
    tls.handshake(asio::ssl::stream_base::client);
    asio::streambuf tb;
    asio::read_until(tls, tb, "\r\n");
    std::string line((std::istreambuf_iterator<char>(&tb)), {});
    EXPECT_EQ(line, "hello tls\r\n");
  }
  {
    asio::io_context cio;
    tcp::socket s(cio);
    s.connect({asio::ip::make_address("127.0.0.1"), port("tls")});
    asio::ssl::context cctx(asio::ssl::context::tls_client);
    SSL_CTX_set_security_level(cctx.native_handle(), 0);
    SSL_CTX_set_min_proto_version(cctx.native_handle(), TLS1_VERSION);
    SSL_CTX_set_max_proto_version(cctx.native_handle(), TLS1_1_VERSION);
    asio::ssl::stream<tcp::socket&> tls(s, cctx);
    boost::system::error_code ec;
    tls.handshake(asio::ssl::stream_base::client, ec);
    EXPECT_TRUE(ec) << "a TLS 1.1 handshake must fail";
  }
}

TEST_F(listener_fixture, per_ip_cap_rejects_with_reason_and_frees_slots) {
  set_->add({.name = "capped", .addresses = {"127.0.0.1:0"}, .max_per_ip = 2}, echo_session,
            [](stream& s, const connection_info&, std::string_view reason) -> asio::awaitable<void> {
              error_code ec;
              co_await s.write(asio::buffer("421 " + std::string(reason) + "\r\n"), ec);
            });
  run();
  asio::io_context cio;
  tcp::socket a(cio), b(cio), c(cio);
  asio::streambuf ba, bb, bc;
  a.connect({asio::ip::make_address("127.0.0.1"), port("capped")});
  EXPECT_EQ(read_line(a, ba), "hello capped");
  b.connect({asio::ip::make_address("127.0.0.1"), port("capped")});
  EXPECT_EQ(read_line(b, bb), "hello capped");
  c.connect({asio::ip::make_address("127.0.0.1"), port("capped")});
  EXPECT_EQ(read_line(c, bc), "421 too many connections from your address");
  // After one leaves, a new connection is served.
  asio::write(a, asio::buffer(std::string("QUIT\r\n")));
  for (int i = 0; i < 100 && set_->active() > 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  tcp::socket d(cio);
  asio::streambuf bd;
  d.connect({asio::ip::make_address("127.0.0.1"), port("capped")});
  EXPECT_EQ(read_line(d, bd), "hello capped");
}

TEST_F(listener_fixture, tls_handshake_rate_is_capped_per_listener) {
  // A bucket of 2 handshakes per second: a burst of 8 connections gets 2
  // greetings; the rest are closed before any TLS work is done. The bucket
  // is spent when a connection is accepted, so all 8 connect first and the
  // handshakes follow: a handshake takes long enough under ASan for the
  // bucket to refill between connections made one after another.
  set_->add({.name = "tls", .addresses = {"127.0.0.1:0"}, .implicit_tls = true, .max_per_ip = 100,
             .tls_handshakes_per_second = 2},
            echo_session);
  run();
  asio::io_context cio;
  asio::ssl::context cctx(asio::ssl::context::tls_client);
  cctx.load_verify_file(cert_);
  cctx.set_verify_mode(asio::ssl::verify_peer);
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  for (int i = 0; i < 8; ++i) {
    sockets.push_back(std::make_unique<tcp::socket>(cio));
    sockets.back()->connect({asio::ip::make_address("127.0.0.1"), port("tls")});
  }
  int greeted = 0, refused = 0;
  for (auto& sock : sockets) {
    asio::ssl::stream<tcp::socket&> tls(*sock, cctx);
    boost::system::error_code ec;
    tls.handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      ++refused;
      continue;
    }
    asio::streambuf tb;
    asio::read_until(tls, tb, "\r\n", ec);
    greeted += !ec;
  }
  EXPECT_EQ(greeted, 2);
  EXPECT_EQ(refused, 6);
  // The bucket refills: after a second a new handshake succeeds.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  tcp::socket late(cio);
  late.connect({asio::ip::make_address("127.0.0.1"), port("tls")});
  asio::ssl::stream<tcp::socket&> tls(late, cctx);
  boost::system::error_code ec;
  tls.handshake(asio::ssl::stream_base::client, ec);
  EXPECT_FALSE(ec) << ec.message();
}

TEST_F(listener_fixture, port_in_use_is_a_clear_startup_error) {
  set_->add({.name = "first", .addresses = {"127.0.0.1:0"}}, echo_session);
  auto taken = "127.0.0.1:" + std::to_string(port("first"));
  try {
    set_->add({.name = "second", .addresses = {taken}}, echo_session);
    FAIL() << "binding a port in use must throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("listen second " + taken), std::string::npos) << e.what();
  }
}

TEST(tls, missing_certificate_names_the_file) {
  try {
    make_server_tls_context("/nonexistent/cert.pem", "/nonexistent/key.pem");
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/cert.pem"), std::string::npos);
  }
}
