// RCPT TO (RFC 5321 §4.1.1.3). Input: a parsed forward-path. Each recipient
// is decided here, at once: local addresses through the directory (550 5.1.1
// unknown, 451 4.4.3 directory unavailable, 452 4.2.2 mailbox full, 550 5.7.1
// not allowed to post to a list); anything else only for authenticated or
// trusted clients (554 5.7.1 relay access denied — S6, no open relay, and
// no '%' / '!' routing tricks through our own domains). At most
// max_recipients are accepted; later ones get 452 4.5.3 and the earlier ones
// stay (RFC 5321 §4.5.3.1.10, S11).
#include "../events.hpp"

#include <algorithm>

namespace homthu::smtp::detail {
namespace {

bool in_list(const std::vector<std::string>& v, const std::string& a) {
  return std::any_of(v.begin(), v.end(), [&](const std::string& x) { return common::to_lower_ascii(x) == a; });
}

// RFC 5321 §3.6.1: we never do source routing; local parts holding routing
// characters are relay attempts when they reach us unauthenticated.
bool looks_routed(const proto::mailbox& m) {
  return m.local.find_first_of("%!@") != std::string::npos;
}

std::optional<proto::reply> check_list_policy(const session& s, const directory::recipient& r) {
  using directory::post_policy;
  const auto denied = proto::make_reply(550, "5.7.1", "Not allowed to post to " + r.list_address);
  switch (r.policy) {
    case post_policy::anyone:
      return std::nullopt;
    case post_policy::authenticated:
      return s.auth ? std::nullopt : std::optional(denied);
    case post_policy::members: {
      if (!s.auth) {
        return denied;
      }
      const auto& a = s.auth->acct;
      if (in_list(r.members, a.address) ||
          std::any_of(a.aliases.begin(), a.aliases.end(),
                      [&](const std::string& x) { return in_list(r.members, common::to_lower_ascii(x)); })) {
        return std::nullopt;
      }
      return denied;
    }
    case post_policy::moderators:
      if (s.auth && (in_list(r.posters, s.auth->acct.address) || in_list(r.posters, r.list_address))) {
        return std::nullopt;
      }
      return denied;
  }
  return denied;
}

}  // namespace

asio::awaitable<next> on_rcpt(session& s, const proto::rcpt_args& a) {
  ++s.tx.rcpt_attempts;
  // Every refusal is also a delivery-log row: "where did my mail go" must
  // show mail that never got in.
  const auto refused_address = a.recipient.canonical();
  auto refuse = [&s, &refused_address](const proto::reply& r) {
    log_rejected_rcpt(s, refused_address, r);
    s.reply(r);
  };
  if (s.tx.rcpts.size() >= s.st.svc.cfg.smtp.max_recipients) {
    refuse(proto::make_reply(452, "4.5.3", "Error: too many recipients"));
    co_return next::keep;
  }
  if (s.kind == listener_kind::mx && !s.relay_allowed() && s.st.svc.cfg.smtp.reject_unknown_client_hostname &&
      !a.postmaster) {
    if (!s.iprev) {
      auto& dns = *s.st.dns;
      const auto& ip = s.info.peer_ip;
      s.iprev = co_await s.st.svc.workers.run([&dns, &ip]() { return auth::check_iprev(dns, ip); });
    }
    if (s.iprev->result != "pass") {
      // Temporary whatever the cause, as Postfix's unknown_client_reject_code:
      // a name server failure or a PTR record being fixed must not bounce mail.
      s.log.info("smtp.unknown_client_hostname", {{"iprev", s.iprev->result}});
      refuse(proto::make_reply(450, "4.7.25", "Client host rejected: cannot find your hostname, [" +
                                                  s.info.peer_ip + "]"));
      co_return next::keep;
    }
  }
  proto::mailbox m = a.recipient;
  if (a.postmaster) {
    // RFC 5321 §4.5.1: <Postmaster> without a domain is always accepted.
    m.local = "postmaster";
    m.domain = s.st.primary_domain();
  }
  const auto address = m.canonical();
  const bool local = !m.literal && s.st.is_local_domain(m.domain);
  accepted_rcpt acc;
  acc.args = a;
  acc.address = address;
  acc.local = local;
  if (!local) {
    if (!s.relay_allowed()) {
      s.log.info("smtp.relay_denied", {{"rcpt", address}});
      refuse(proto::make_reply(554, "5.7.1", "<" + m.str() + ">: Relay access denied"));
      co_return next::keep;
    }
  } else {
    if (!s.relay_allowed() && looks_routed(m)) {
      refuse(proto::make_reply(554, "5.7.1", "<" + m.str() + ">: Relay access denied"));
      co_return next::keep;
    }
    // One trip to the worker pool for the directory and the quota usage
    // (each trip costs two thread wake-ups).
    auto& dir = s.st.svc.dir;
    auto& store = s.st.svc.store;
    auto found = co_await s.st.svc.workers.run([&dir, &store, &address]() {
      auto r = dir.resolve(address);
      std::optional<decltype(store.usage(std::string()))> usage;
      if (r && r->type == directory::recipient::kind::account && r->acct.enabled &&
          (r->acct.quota_bytes != 0 || r->acct.quota_messages != 0)) {
        usage = store.usage(r->acct.id);
      }
      return std::make_pair(std::move(r), std::move(usage));
    });
    const auto& r = found.first;
    if (!r) {
      if (r.error() == directory::error::unavailable) {
        refuse(proto::make_reply(451, "4.4.3", "Directory temporarily unavailable, try again later"));
      } else {
        refuse(proto::make_reply(550, "5.1.1", "<" + m.str() + ">: Recipient address rejected: User unknown"));
      }
      co_return next::keep;
    }
    if (r->type == directory::recipient::kind::account) {
      const auto& acct = r->acct;
      if (!acct.enabled) {
        refuse(proto::make_reply(550, "5.2.1", "<" + m.str() + ">: Mailbox disabled"));
        co_return next::keep;
      }
      if (acct.quota_bytes != 0 || acct.quota_messages != 0) {
        const auto size = s.tx.mail.size.value_or(0);
        if (acct.quota_bytes != 0 && size > acct.quota_bytes) {
          refuse(proto::make_reply(552, "5.2.2", "<" + m.str() + ">: Message exceeds the mailbox quota"));
          co_return next::keep;
        }
        if (found.second && *found.second) {
          const auto& usage = *found.second;
          const bool full = (acct.quota_bytes != 0 && usage->bytes + size >= acct.quota_bytes) ||
                            (acct.quota_messages != 0 && usage->messages >= acct.quota_messages);
          if (full) {
            refuse(proto::make_reply(452, "4.2.2", "<" + m.str() + ">: Mailbox full"));
            co_return next::keep;
          }
        }
      }
    } else if (r->type == directory::recipient::kind::list) {
      if (auto denied = check_list_policy(s, *r)) {
        refuse(*denied);
        co_return next::keep;
      }
    }
    acc.resolved = std::move(*r);
  }
  const bool dup = std::any_of(s.tx.rcpts.begin(), s.tx.rcpts.end(),
                               [&](const accepted_rcpt& x) { return x.address == address; });
  if (!dup) {
    s.tx.rcpts.push_back(std::move(acc));
  }
  s.ph = phase::rcpt;
  s.reply(proto::make_reply(250, "2.1.5", "Ok"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
