// Transcript tests: each file in transcripts/ is a conversation with a real
// IMAP session over a loopback TCP socket (TLS as the listener would do it),
// a fake directory and a store in a temporary directory.
//
//   # listener: imaps | imap          (imap: plain with STARTTLS)
//   # user: an@thainguyen.gov.vn secret
//   # directory: down                 (authenticate answers unavailable)
//   # deliver: an INBOX Subject|body line|body line
//   C: a1 LOGIN …                      (sent with CRLF)
//   S: a1 OK*                          (next server line; '*' is a wildcard,
//                                       except a leading "* ")
//   S*: pattern                        (skip lines until one matches, ≤ 200)
//   DELIVER: an INBOX Subject|body     (delivered now, mid-conversation)
//   TLS                                (client starts TLS after STARTTLS)
//   EOF                                (the server must close)
#include "homthu/common/address.hpp"
#include "homthu/common/tls.hpp"
#include "homthu/common/worker_pool.hpp"
#include "homthu/imap/server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace homthu;

namespace hd = homthu::directory;

class fake_directory : public homthu::directory::directory {
 public:
  struct user {
    std::string password;
    hd::account acct;
  };
  std::map<std::string, user> users;
  bool down = false;

  hd::result<hd::auth_result> authenticate(std::string_view login, std::string_view password,
                                                         hd::service) override {
    if (down) {
      return hd::error::unavailable;
    }
    auto it = users.find(common::to_lower_ascii(login));
    if (it == users.end() || it->second.password != password) {
      return hd::error::invalid_credentials;
    }
    hd::auth_result r;
    r.acct = it->second.acct;
    return r;
  }
  hd::result<hd::recipient> resolve(std::string_view) override { return hd::error::not_found; }
  hd::result<hd::account> find_account(std::string_view id) override {
    for (auto& [_, u] : users) {
      if (u.acct.id == id || u.acct.address == id) {
        return u.acct;
      }
    }
    return hd::error::not_found;
  }
  bool is_local_domain(std::string_view d) const override { return d == "thainguyen.gov.vn"; }
};

bool glob(std::string_view pat, std::string_view text) {
  // Iterative '*' matching; a leading "* " is literal (untagged responses).
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  auto is_wild = [&](std::size_t i) { return pat[i] == '*' && !(i == 0 && pat.size() > 1 && pat[1] == ' '); };
  while (t < text.size()) {
    if (p < pat.size() && is_wild(p)) {
      star = p++;
      mark = t;
    } else if (p < pat.size() && pat[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && is_wild(p)) {
    ++p;
  }
  return p == pat.size();
}

class client {
 public:
  client(asio::ssl::context& ctx, unsigned short port, bool tls) : sock_(io_), ctx_(ctx) {
    sock_.connect({asio::ip::make_address("127.0.0.1"), port});
    if (tls) {
      start_tls();
    }
  }

  void start_tls() {
    tls_ = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket&>>(sock_, ctx_);
    bool done = false;
    tls_->async_handshake(asio::ssl::stream_base::client, [&](auto ec) {
      ASSERT_FALSE(ec) << ec.message();
      done = true;
    });
    run([&] { return done; });
  }

  void send(const std::string& line) {
    std::string data = line + "\r\n";
    bool done = false;
    auto h = [&](auto ec, std::size_t) {
      EXPECT_FALSE(ec) << ec.message();
      done = true;
    };
    if (tls_) {
      asio::async_write(*tls_, asio::buffer(data), h);
    } else {
      asio::async_write(sock_, asio::buffer(data), h);
    }
    run([&] { return done; });
  }

  // One logical response line, literals included; nullopt on close/timeout.
  std::optional<std::string> line() {
    std::string out;
    for (;;) {
      auto nl = buf_.find("\r\n");
      while (nl == std::string::npos) {
        if (!more()) {
          return std::nullopt;
        }
        nl = buf_.find("\r\n");
      }
      std::string part = buf_.substr(0, nl);
      buf_.erase(0, nl + 2);
      out += part;
      // A literal at the end of the line: its bytes belong to this line.
      if (!part.empty() && part.back() == '}') {
        auto open = part.rfind('{');
        if (open != std::string::npos) {
          std::size_t n = std::stoul(part.substr(open + 1, part.size() - open - 2));
          while (buf_.size() < n) {
            if (!more()) {
              return std::nullopt;
            }
          }
          out += "\r\n" + buf_.substr(0, n);
          buf_.erase(0, n);
          continue;
        }
      }
      return out;
    }
  }

  bool closed() {
    // Closed when the next read ends the stream (after what is buffered).
    return buf_.empty() && !more();
  }

 private:
  bool more() {
    char tmp[8192];
    bool done = false;
    bool ok = false;
    auto h = [&](auto ec, std::size_t n) {
      done = true;
      ok = !ec;
      buf_.append(tmp, n);
    };
    if (tls_) {
      tls_->async_read_some(asio::buffer(tmp), h);
    } else {
      sock_.async_read_some(asio::buffer(tmp), h);
    }
    if (!run([&] { return done; })) {
      sock_.cancel();
      io_.restart();
      io_.run_for(std::chrono::seconds(1));
      return false;
    }
    return ok;
  }

  template <class F>
  bool run(F done) {
    io_.restart();
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done() && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(100));
    }
    return done();
  }

  asio::io_context io_;
  asio::ip::tcp::socket sock_;
  asio::ssl::context& ctx_;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket&>> tls_;
  std::string buf_;
};

struct environment {
  fs::path dir;
  common::config cfg;
  fake_directory dir_;
  std::unique_ptr<storage::store> store;
  std::shared_ptr<common::tls_provider> tls;
  std::unique_ptr<common::worker_pool> workers;

  environment() {
    dir = fs::temp_directory_path() / ("homthu-imap-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(dir);
    common::generate_self_signed((dir / "cert.pem").string(), (dir / "key.pem").string(), {"localhost"});
    tls = std::make_shared<common::tls_provider>((dir / "cert.pem").string(), (dir / "key.pem").string());
    storage::store_options o;
    o.path = (dir / "mail").string();
    o.fsync = false;
    store = storage::open_store(o);
    workers = std::make_unique<common::worker_pool>(2);
  }
  ~environment() {
    workers.reset();
    store.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void deliver(const std::string& account, const std::string& mailbox, const std::string& spec) {
    std::vector<std::string> parts;
    std::stringstream ss(spec);
    std::string p;
    while (std::getline(ss, p, '|')) {
      parts.push_back(p);
    }
    std::string msg = "From: Nguyen Van A <a@example.com>\r\nTo: " + account +
                      "@thainguyen.gov.vn\r\nSubject: " + (parts.empty() ? "" : parts[0]) +
                      "\r\nDate: Tue, 5 Mar 2024 10:00:00 +0700\r\nMessage-ID: <" + std::to_string(++seq_) +
                      "@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
    for (std::size_t i = 1; i < parts.size(); ++i) {
      msg += parts[i] + "\r\n";
    }
    auto sp = store->begin_spool();
    ASSERT_TRUE(sp);
    ASSERT_TRUE((*sp)->write(msg));
    auto blob = (*sp)->finish();
    ASSERT_TRUE(blob);
    storage::delivery_target t;
    t.account = account;
    t.mailbox = mailbox;
    auto out = store->deliver(*blob, std::span(&t, 1), 1709607600);
    ASSERT_EQ(out.size(), 1u);
    ASSERT_FALSE(out[0].ec) << out[0].ec.message();
  }
  int seq_ = 0;
};

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ')) {
    s.pop_back();
  }
  return s;
}

void run_transcript(const fs::path& file) {
  environment env;
  std::ifstream in(file);
  std::vector<std::string> lines;
  std::string l;
  bool implicit_tls = true;
  while (std::getline(in, l)) {
    l = trim(l);
    if (l.rfind("# listener: ", 0) == 0) {
      implicit_tls = l.substr(12) == "imaps";
    } else if (l.rfind("# user: ", 0) == 0) {
      std::stringstream ss(l.substr(8));
      std::string addr, pass;
      ss >> addr >> pass;
      fake_directory::user u;
      u.password = pass;
      u.acct.address = addr;
      u.acct.id = addr.substr(0, addr.find('@'));
      u.acct.quota_bytes = 10u << 20;
      u.acct.quota_messages = 1000;
      env.dir_.users[addr] = u;
    } else if (l == "# directory: down") {
      env.dir_.down = true;
    } else if (l.rfind("# deliver: ", 0) == 0) {
      std::stringstream ss(l.substr(11));
      std::string acct, mbox, rest;
      ss >> acct >> mbox;
      std::getline(ss, rest);
      env.deliver(acct, mbox, rest.empty() ? rest : rest.substr(1));
    } else if (!l.empty() && l[0] != '#') {
      lines.push_back(l);
    }
  }

  asio::io_context io;
  imap::server srv(imap::services{env.cfg, env.dir_, *env.store, *env.workers, env.tls});
  asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = acc.local_endpoint().port();
  std::atomic<bool> finished{false};
  asio::co_spawn(
      asio::make_strand(io),
      [&]() -> asio::awaitable<void> {
        auto sock = co_await acc.async_accept(asio::use_awaitable);
        common::stream st(std::move(sock));
        common::connection_info info{implicit_tls ? "imaps" : "imap", "test", "127.0.0.1", implicit_tls};
        if (implicit_tls) {
          common::error_code ec;
          co_await st.start_tls(*env.tls->current(), ec);
        }
        co_await srv.session(st, info);
        finished = true;
      },
      asio::detached);
  std::thread io_thread([&] { io.run(); });

  asio::ssl::context cctx(asio::ssl::context::tls_client);
  {
    client c(cctx, port, implicit_tls);
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const auto& t = lines[i];
      SCOPED_TRACE(file.filename().string() + ": " + t);
      if (t.rfind("C: ", 0) == 0) {
        // "\r\n" in a client line stands for CRLF (literal contents).
        std::string data = t.substr(3);
        for (auto p = data.find("\\r\\n"); p != std::string::npos; p = data.find("\\r\\n", p + 2)) {
          data.replace(p, 4, "\r\n");
        }
        c.send(data);
      } else if (t.rfind("DELIVER: ", 0) == 0) {
        std::stringstream ss(t.substr(9));
        std::string acct, mbox, rest;
        ss >> acct >> mbox;
        std::getline(ss, rest);
        env.deliver(acct, mbox, rest.empty() ? rest : rest.substr(1));
      } else if (t == "TLS") {
        c.start_tls();
      } else if (t == "EOF") {
        EXPECT_TRUE(c.closed()) << "server did not close";
      } else if (t.rfind("S: ", 0) == 0) {
        auto got = c.line();
        ASSERT_TRUE(got) << "connection closed, expected " << t;
        ASSERT_TRUE(glob(t.substr(3), *got)) << "expected " << t.substr(3) << "\n     got " << *got;
      } else if (t.rfind("S*: ", 0) == 0) {
        bool found = false;
        for (int k = 0; k < 200 && !found; ++k) {
          auto got = c.line();
          ASSERT_TRUE(got) << "connection closed, expected " << t;
          found = glob(t.substr(4), *got);
        }
        ASSERT_TRUE(found) << t;
      } else {
        FAIL() << "bad transcript line: " << t;
      }
    }
  }
  for (int i = 0; i < 100 && !finished; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  srv.stop();
  io.stop();
  io_thread.join();
  // The worker threads finish before the io_context goes: a job that has
  // posted its completion still holds a copy of the session's strand
  // executor until its frame unwinds, and destroying the last copy touches
  // the io_context (ASan: heap-use-after-free in ~strand_impl). homthud
  // destroys its worker pool before its io_context for the same reason.
  env.workers->join();
  EXPECT_TRUE(finished.load()) << "session did not end after the client left";
}

std::vector<std::string> transcript_files() {
  std::vector<std::string> out;
  fs::path dir = fs::path(HOMTHU_UNIT_DIR) / "transcripts";
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".txt") {
      out.push_back(e.path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class transcript : public ::testing::TestWithParam<std::string> {};

TEST_P(transcript, conversation_matches) { run_transcript(GetParam()); }

INSTANTIATE_TEST_SUITE_P(imap, transcript, ::testing::ValuesIn(transcript_files()), [](const auto& info) {
  auto name = fs::path(info.param).stem().string();
  for (auto& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) {
      ch = '_';
    }
  }
  return name;
});

}  // namespace
