// QUOTA (RFC 9208): one root "" per account; limits from the directory
// account, usage from storage. SETQUOTA is refused: limits are managed in
// the directory.
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::cmd {

namespace {

asio::awaitable<std::optional<std::string>> quota_line(session& s, reply& err) {
  directory::account acct;
  storage::quota_usage use;
  bool dir_down = false;
  auto ec = co_await s.work([&]() -> boost::system::error_code {
    auto a = s.dir().find_account(s.account.id);
    if (a) {
      acct = *a;
    } else {
      dir_down = a.error() == directory::error::unavailable;
      acct = s.account;
    }
    auto u = s.store().usage(s.account.id);
    if (!u) {
      return u.error();
    }
    use = *u;
    return {};
  });
  if (ec) {
    err = storage_failure(ec, "QUOTA");
    co_return std::nullopt;
  }
  (void)dir_down;
  s.account.quota_bytes = acct.quota_bytes;
  s.account.quota_messages = acct.quota_messages;
  std::string items;
  if (acct.quota_bytes) {
    // STORAGE is in units of 1024 octets (RFC 9208 §5.1).
    items += "STORAGE " + std::to_string((use.bytes + 1023) / 1024) + " " + std::to_string(acct.quota_bytes / 1024);
  }
  if (acct.quota_messages) {
    items += std::string(items.empty() ? "" : " ") + "MESSAGE " + std::to_string(use.messages) + " " +
             std::to_string(acct.quota_messages);
  }
  co_return "* QUOTA \"\" (" + items + ")\r\n";
}

}  // namespace

asio::awaitable<reply> getquota(session& s, command& c) {
  auto root = proto::parse_mailbox_only(c.lex);
  if (!root) {
    co_return reply::bad(c.lex.error());
  }
  if (!root->empty()) {
    co_return reply::no("[NONEXISTENT] No such quota root");
  }
  reply err;
  auto line = co_await quota_line(s, err);
  if (!line) {
    co_return err;
  }
  s.out(*line);
  co_return reply::ok("GETQUOTA completed");
}

asio::awaitable<reply> getquotaroot(session& s, command& c) {
  auto m = proto::parse_mailbox_only(c.lex);
  if (!m) {
    co_return reply::bad(c.lex.error());
  }
  std::string name;
  reply err;
  if (!decode_mailbox_arg(s, *m, name, err)) {
    co_return err;
  }
  auto st = co_await s.work([&] { return s.store().status(s.account.id, name); });
  if (!st) {
    co_return storage_failure(st.error(), "GETQUOTAROOT");
  }
  auto line = co_await quota_line(s, err);
  if (!line) {
    co_return err;
  }
  std::string o = "* QUOTAROOT ";
  s.append_mailbox(o, st->name);
  o += " \"\"\r\n" + *line;
  s.out(o);
  co_return reply::ok("GETQUOTAROOT completed");
}

asio::awaitable<reply> setquota(session&, command&) {
  co_return reply::no("[NOPERM] Quotas are set by the administrator");
}

}  // namespace homthu::imap::cmd
