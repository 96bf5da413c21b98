// SUBSCRIBE / UNSUBSCRIBE (RFC 9051 §6.3.7, §6.3.8).
#include "commands.hpp"

namespace homthu::imap::cmd {

namespace {

asio::awaitable<reply> set_subscription(session& s, command& c, bool on) {
  auto m = proto::parse_mailbox_only(c.lex);
  if (!m) {
    co_return reply::bad(c.lex.error());
  }
  std::string name;
  reply err;
  if (!decode_mailbox_arg(s, *m, name, err)) {
    co_return err;
  }
  auto r = co_await s.work([&] { return s.store().subscribe(s.account.id, name, on); });
  if (!r) {
    co_return storage_failure(r.error(), on ? "SUBSCRIBE" : "UNSUBSCRIBE");
  }
  co_return reply::ok(on ? "SUBSCRIBE completed" : "UNSUBSCRIBE completed");
}

}  // namespace

asio::awaitable<reply> subscribe(session& s, command& c) { return set_subscription(s, c, true); }
asio::awaitable<reply> unsubscribe(session& s, command& c) { return set_subscription(s, c, false); }

}  // namespace homthu::imap::cmd
