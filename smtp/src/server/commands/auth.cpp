// AUTH PLAIN / LOGIN (RFC 4954, RFC 4616). Input: untrusted credentials.
// Invariants: offered and accepted only on the submission ports and only
// over TLS (S7; the table refuses it before STARTTLS on 587 and this file
// refuses it on 25); credentials are checked by the directory on the worker
// pool, never logged; each failure is answered after a delay that grows with
// the IP's recent failures, the third failure in a session disconnects, and
// an IP past the cap may not try at all for a while (A3). A directory
// outage is a temporary failure (454 4.7.0), never a wrong password.
#include "../session.hpp"

#include "homthu/smtp/proto/sasl.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace homthu::smtp::detail {
namespace {

constexpr unsigned max_failures_per_session = 3;

// A client's answer to a 334 challenge; "*" cancels (RFC 4954 §4).
asio::awaitable<proto::result<std::string>> challenge(session& s, std::string_view text) {
  s.reply_raw("334 " + std::string(text) + "\r\n", 334);
  auto line = co_await s.read_line();
  if (!line) {
    co_return proto::make_reply(421, "4.4.2", "connection lost");
  }
  if (*line == "\x01too-long") {
    co_return proto::make_reply(500, "5.5.6", "Authentication exchange line is too long");
  }
  if (*line == "*") {
    co_return proto::make_reply(501, "5.0.0", "Authentication cancelled");
  }
  co_return std::move(*line);
}

}  // namespace

asio::awaitable<next> on_auth(session& s, const proto::auth_args& a) {
  if (!s.submission()) {
    s.reply(proto::make_reply(503, "5.5.1", "Error: authentication not enabled on this port"));
    co_return next::keep;
  }
  if (s.auth) {
    s.reply(proto::make_reply(503, "5.5.1", "Error: already authenticated"));
    co_return next::keep;
  }
  if (!s.stream.is_tls()) {
    s.reply(proto::make_reply(538, "5.7.11", "Encryption required for requested authentication mechanism"));
    co_return next::keep;
  }
  if (s.st.penalties.recent(s.info.peer_ip) >= auth_penalties::ban_after) {
    s.log.warn("smtp.auth_banned");
    s.reply(proto::make_reply(421, "4.7.0", s.st.hostname + " Too many failed logins from your address"));
    co_return next::close;
  }

  proto::credentials cred;
  if (a.mechanism == "PLAIN") {
    std::string resp;
    if (a.initial_response) {
      resp = *a.initial_response;
    } else {
      auto r = co_await challenge(s, "");
      if (!r) {
        s.reply(r.error());
        co_return r.error().code == 421 ? next::close : next::keep;
      }
      resp = std::move(*r);
    }
    auto c = proto::decode_plain(resp == "=" ? std::string_view{} : std::string_view(resp));
    if (!c) {
      s.reply(c.error());
      co_return next::keep;
    }
    cred = std::move(*c);
  } else if (a.mechanism == "LOGIN") {
    std::string user_b64;
    if (a.initial_response) {
      user_b64 = *a.initial_response;
    } else {
      auto r = co_await challenge(s, "VXNlcm5hbWU6");  // "Username:"
      if (!r) {
        s.reply(r.error());
        co_return r.error().code == 421 ? next::close : next::keep;
      }
      user_b64 = std::move(*r);
    }
    auto user = proto::decode_login_step(user_b64);
    if (!user) {
      s.reply(user.error());
      co_return next::keep;
    }
    auto r = co_await challenge(s, "UGFzc3dvcmQ6");  // "Password:"
    if (!r) {
      s.reply(r.error());
      co_return r.error().code == 421 ? next::close : next::keep;
    }
    auto pass = proto::decode_login_step(*r);
    if (!pass) {
      s.reply(pass.error());
      co_return next::keep;
    }
    cred.login = std::move(*user);
    cred.password = std::move(*pass);
  } else {
    s.reply(proto::make_reply(504, "5.5.4", "Unrecognized authentication type"));
    co_return next::keep;
  }

  auto& dir = s.st.svc.dir;
  auto res = co_await s.st.svc.workers.run(
      [&dir, &cred]() { return dir.authenticate(cred.login, cred.password, directory::service::smtp); });
  if (res) {
    s.st.penalties.succeeded(s.info.peer_ip);
    s.auth = std::move(*res);
    s.auth_login = cred.login;
    s.log.info("smtp.auth", {{"user", s.auth->acct.id}, {"mechanism", a.mechanism},
                             {"app_password", s.auth->app_password ? "yes" : "no"}});
    s.reply(proto::make_reply(235, "2.7.0", "Authentication successful"));
    co_return next::keep;
  }
  if (res.error() == directory::error::unavailable) {
    s.log.warn("smtp.auth_unavailable");
    s.reply(proto::make_reply(454, "4.7.0", "Temporary authentication failure"));
    co_return next::keep;
  }
  s.st.penalties.failed(s.info.peer_ip);
  s.st.penalties.failed_account(cred.login);
  ++s.auth_failures;
  s.log.info("smtp.auth_failed", {{"login", cred.login}, {"failures", s.auth_failures}});
  // The delay grows with the IP's failures and with the account's (from any
  // IP, counted per 10 so that one user's typos cost little); capped at 15 s.
  const auto recent = std::max(s.st.penalties.recent(s.info.peer_ip), s.st.penalties.recent_account(cred.login) / 10);
  const auto delay = std::min<std::int64_t>(15000, s.st.opts.auth_failure_delay_ms * recent);
  if (delay > 0) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(delay));
    co_await t.async_wait(asio::use_awaitable);
  }
  s.reply(proto::make_reply(535, "5.7.8", "Authentication credentials invalid"));
  if (s.auth_failures >= max_failures_per_session) {
    s.reply(proto::make_reply(421, "4.7.0", s.st.hostname + " Too many failed authentication attempts"));
    co_return next::close;
  }
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
