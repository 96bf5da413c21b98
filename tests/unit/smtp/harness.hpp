#pragma once
// A real SMTP server session over a loopback TCP connection, with the fake
// directory and store, and a blocking client with a read timeout. Used by
// the transcript tests and the session tests.

#include "fakes.hpp"

#include "homthu/common/config.hpp"
#include "homthu/common/listener.hpp"
#include "homthu/common/stream.hpp"
#include "homthu/common/tls.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/smtp/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>
#include <sys/time.h>

#include <filesystem>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>

namespace homthu::smtp::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline std::filesystem::path make_temp_dir() {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() / ("homthu-smtp-test-" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(p);
  return p;
}

// One certificate for every test in the process.
inline std::shared_ptr<common::tls_provider> test_tls() {
  static std::shared_ptr<common::tls_provider> p = [] {
    auto dir = make_temp_dir();
    const auto cert = (dir / "cert.pem").string();
    const auto key = (dir / "key.pem").string();
    common::generate_self_signed(cert, key, {"mail.thainguyen.gov.vn", "localhost"});
    return std::make_shared<common::tls_provider>(cert, key);
  }();
  return p;
}

class harness {
 public:
  harness() : tmp_(make_temp_dir()) {
    cfg.server.hostname = "mail.thainguyen.gov.vn";
    cfg.server.domains = {"thainguyen.gov.vn"};
    cfg.server.data_dir = tmp_.string();
    cfg.storage.fsync = false;
    cfg.smtp.command_timeout = std::chrono::seconds(10);
    cfg.smtp.data_timeout = std::chrono::seconds(10);
    opts.queue_path = (tmp_ / "queue").string();
    opts.auth_failure_delay_ms = 0;
    opts.dns = dns;  // tests never touch the network
  }
  ~harness() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(tmp_, ec);
  }

  // Starts the server and accepts `connections` connections of `kind`.
  void start(listener_kind kind, int connections = 1) {
    workers_ = std::make_unique<common::worker_pool>(2);
    server_ = std::make_unique<server>(services{cfg, dir, store, *workers_, test_tls()}, opts);
    acceptor_.emplace(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port_ = acceptor_->local_endpoint().port();
    asio::co_spawn(io_, accept(kind, connections), asio::detached);
    if (start_queue) {
      server_->start_queue(io_.get_executor());
    }
    thread_ = std::thread([this] { io_.run(); });
  }

  void stop() {
    if (server_) {
      server_->stop();
    }
    work_.reset();
    io_.stop();
    if (thread_.joinable()) {
      thread_.join();
    }
    server_.reset();
    workers_.reset();
  }

  unsigned short port() const { return port_; }
  server& srv() { return *server_; }

  common::config cfg;
  server_options opts;
  fake_directory dir;
  fake_store store;
  std::shared_ptr<fake_dns> dns = std::make_shared<fake_dns>();
  bool start_queue = false;
  // The client address the session sees (SPF tests pretend to be outside:
  // libspf2 passes every loopback client).
  std::string peer_ip = "127.0.0.1";

 private:
  asio::awaitable<void> accept(listener_kind kind, int connections) {
    for (int i = 0; i < connections; ++i) {
      auto sock = co_await acceptor_->async_accept(asio::use_awaitable);
      asio::co_spawn(io_, serve(std::move(sock), kind, i), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket sock, listener_kind kind, int n) {
    common::stream s(std::move(sock));
    common::connection_info info;
    info.listener = kind == listener_kind::mx ? "smtp" : kind == listener_kind::submission ? "submission" : "smtps";
    info.session_id = "T" + std::to_string(n);
    info.peer_ip = peer_ip;
    if (kind == listener_kind::submissions) {
      info.implicit_tls = true;
      common::error_code ec;
      s.expires_after(std::chrono::seconds(10));
      co_await s.start_tls(*test_tls()->current(), ec);
      if (ec) {
        co_return;
      }
    }
    co_await server_->session(s, info, kind);
  }

  std::filesystem::path tmp_;
  asio::io_context io_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  std::optional<tcp::acceptor> acceptor_;
  unsigned short port_ = 0;
  std::unique_ptr<common::worker_pool> workers_;
  std::unique_ptr<server> server_;
  std::thread thread_;
};

// A blocking client with a 10 s read timeout (bounded tests).
class client {
 public:
  explicit client(unsigned short port, bool implicit_tls = false) : sock_(io_), ssl_ctx_(asio::ssl::context::tls_client) {
    sock_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    timeval tv{10, 0};
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(sock_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ssl_ctx_.set_verify_mode(asio::ssl::verify_none);
    if (implicit_tls) {
      start_tls();
    }
  }

  void start_tls() {
    buf_.clear();
    tls_.emplace(sock_, ssl_ctx_);
    tls_->handshake(asio::ssl::stream_base::client);
  }
  bool is_tls() const { return tls_.has_value(); }

  void send(std::string_view bytes) {
    boost::system::error_code ec;
    if (tls_) {
      asio::write(*tls_, asio::buffer(bytes), ec);
    } else {
      asio::write(sock_, asio::buffer(bytes), ec);
    }
  }
  void line(std::string_view l) { send(std::string(l) + "\r\n"); }

  // One line without CRLF; nullopt on EOF, error or timeout.
  std::optional<std::string> read_line() {
    for (;;) {
      auto lf = buf_.find('\n');
      if (lf != std::string::npos) {
        auto l = buf_.substr(0, lf);
        buf_.erase(0, lf + 1);
        if (!l.empty() && l.back() == '\r') {
          l.pop_back();
        }
        return l;
      }
      char tmp[4096];
      boost::system::error_code ec;
      std::size_t n = tls_ ? tls_->read_some(asio::buffer(tmp), ec) : sock_.read_some(asio::buffer(tmp), ec);
      if (ec || n == 0) {
        return std::nullopt;
      }
      buf_.append(tmp, n);
    }
  }
  // A whole reply; returns its last line (and all lines in `all`).
  std::optional<std::string> read_reply(std::vector<std::string>* all = nullptr) {
    for (int i = 0; i < 100; ++i) {
      auto l = read_line();
      if (!l) {
        return std::nullopt;
      }
      if (all) {
        all->push_back(*l);
      }
      if (l->size() < 4 || (*l)[3] != '-') {
        return l;
      }
    }
    return std::nullopt;
  }

 private:
  asio::io_context io_;
  tcp::socket sock_;
  asio::ssl::context ssl_ctx_;
  std::optional<asio::ssl::stream<tcp::socket&>> tls_;
  std::string buf_;
};

}  // namespace homthu::smtp::test
