// CLOSE (RFC 9051 §6.4.1): silently expunge \Deleted (unless read-only),
// then leave the mailbox.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> close(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  if (!s.sel->read_only) {
    auto id = s.sel->id;
    auto r = co_await s.work([&] { return s.store().expunge(s.account.id, id, std::nullopt); });
    if (!r) {
      s.log.warn("imap.close_expunge_failed", {{"error", r.error().message()}});
    }
  }
  s.unselect();
  co_return reply::ok("CLOSE completed");
}

}  // namespace homthu::imap::cmd
