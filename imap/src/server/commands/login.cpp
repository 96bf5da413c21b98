// LOGIN (RFC 9051 §6.2.3). Refused before TLS (LOGINDISABLED, S7). Failures
// say nothing about which part was wrong (RFC 5530 AUTHENTICATIONFAILED);
// a directory outage is UNAVAILABLE, never "wrong password" (L2). Repeated
// failures are slowed down and end the connection (A3).
#include "commands.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace homthu::imap::cmd {

namespace {
constexpr unsigned max_auth_failures = 3;
}

asio::awaitable<reply> finish_login(session& s, directory::result<directory::auth_result> r) {
  if (!r) {
    if (r.error() == directory::error::unavailable) {
      s.log.warn("imap.login_unavailable", {});
      co_return reply::no("[UNAVAILABLE] Directory temporarily unavailable, try again");
    }
    ++s.auth_failures;
    s.log.info("imap.login_failed", {{"failures", s.auth_failures}});
    // Penalty grows with each failure, at most 15 s (Dovecot's auth penalty).
    auto delay = std::chrono::seconds(std::min(15u, 2 * (s.auth_failures - 1)));
    if (delay.count() > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, delay);
      common::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    auto rep = reply::no("[AUTHENTICATIONFAILED] Authentication failed");
    if (s.auth_failures >= max_auth_failures) {
      s.out("* BYE Too many authentication failures\r\n");
      rep.action = reply::then::close;
    }
    co_return rep;
  }
  s.account = std::move(r->acct);
  s.st = state::authenticated;
  s.log = s.log.with("account", s.account.id);
  s.log.info("imap.login", {{"tls", s.tls_active() ? "yes" : "no"}});
  co_await s.work([&] {
    s.watch_account();
    return 0;
  });
  co_return reply::ok("[CAPABILITY " + s.capabilities() + "] Logged in");
}

asio::awaitable<reply> login(session& s, command& c) {
  auto a = proto::parse_login(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (!s.plaintext_login_allowed()) {
    co_return reply::no("[PRIVACYREQUIRED] Use STARTTLS first");
  }
  std::string user = std::move(a->user);
  std::string pass = std::move(a->password);
  auto r = co_await s.work([&] { return s.dir().authenticate(user, pass, directory::service::imap); });
  co_return co_await finish_login(s, std::move(r));
}

}  // namespace homthu::imap::cmd
