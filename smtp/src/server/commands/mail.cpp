// MAIL FROM (RFC 5321 §4.1.1.2). Input: a parsed reverse-path and
// parameters. Invariants: submission ports require AUTH (RFC 6409 §4.3)
// unless the peer is a trusted network; an authenticated client may only
// use its own address, an alias, or an address the directory lets it send
// as (S9); an unauthenticated client from outside may not claim one of our
// own domains on port 25 (Postfix reject_unauthenticated_sender_login_mismatch);
// SIZE over the limit is refused at once (RFC 1870 §6.1).
#include "../session.hpp"

#include <algorithm>

namespace homthu::smtp::detail {
namespace {

bool owns(const directory::account& a, const std::string& addr) {
  if (a.address == addr) {
    return true;
  }
  auto eq = [&](const std::string& x) { return common::to_lower_ascii(x) == addr; };
  return std::any_of(a.aliases.begin(), a.aliases.end(), eq) ||
         std::any_of(a.send_as.begin(), a.send_as.end(), eq);
}

}  // namespace

bool sender_owned(const session& s, const std::string& canonical) {
  return s.auth && owns(s.auth->acct, canonical);
}

asio::awaitable<next> on_mail(session& s, const proto::mail_args& a) {
  const auto& cfg = s.st.svc.cfg.smtp;
  if (s.submission() && !s.auth && !s.trusted) {
    s.reply(proto::make_reply(530, "5.7.0", "Authentication required"));
    co_return next::keep;
  }
  if (a.size && *a.size > cfg.max_message_size) {
    s.reply(proto::make_reply(552, "5.3.4", "Message size exceeds fixed maximum message size"));
    co_return next::keep;
  }
  const auto from = a.sender.canonical();
  if (!a.sender.empty()) {
    if (s.auth) {
      if (!sender_owned(s, from)) {
        s.log.info("smtp.sender_mismatch", {{"user", s.auth->acct.id}, {"from", from}});
        s.reply(proto::make_reply(553, "5.7.1", "Sender address rejected: not owned by user " + s.auth->acct.address));
        co_return next::keep;
      }
    } else if (!s.trusted && !a.sender.literal && s.st.is_local_domain(a.sender.domain)) {
      s.reply(proto::make_reply(553, "5.7.1", "Sender address rejected: not logged in"));
      co_return next::keep;
    }
  }
  // Rate limits, counted per MAIL FROM accepted (issue 5 item 7).
  if (s.auth && !s.st.account_message_rate.hit(s.auth->acct.id, cfg.messages_per_hour_per_account)) {
    s.log.info("smtp.rate_limited", {{"user", s.auth->acct.id}});
    s.reply(proto::make_reply(450, "4.7.1", "Sending rate limit exceeded for " + s.auth->acct.address +
                                                ", try again later"));
    co_return next::keep;
  }
  if (!s.auth && !s.trusted && !s.st.ip_message_rate.hit(s.info.peer_ip, s.st.opts.messages_per_ip_per_hour)) {
    s.log.info("smtp.rate_limited", {{"ip", s.info.peer_ip}});
    s.reply(proto::make_reply(450, "4.7.1", "Message rate limit exceeded, try again later"));
    co_return next::keep;
  }
  s.tx = transaction{};
  s.tx.mail = a;
  s.tx.trace = s.info.session_id + "." + std::to_string(++s.transactions);
  s.ph = phase::mail;
  s.reply(proto::make_reply(250, "2.1.0", "Ok"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
