// RENAME (RFC 9051 §6.3.6): children follow; renaming INBOX moves its
// messages (storage does both).
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> rename(session& s, command& c) {
  auto a = proto::parse_rename(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  std::string from, to;
  reply err;
  if (!decode_mailbox_arg(s, a->from, from, err) || !decode_mailbox_arg(s, a->to, to, err)) {
    co_return err;
  }
  if (to == "INBOX") {
    co_return reply::no("[ALREADYEXISTS] INBOX always exists");
  }
  auto r = co_await s.work([&] { return s.store().rename_mailbox(s.account.id, from, to); });
  if (!r) {
    co_return storage_failure(r.error(), "RENAME");
  }
  if (s.sel && s.sel->name == from) {
    s.sel->name = to;
  }
  co_return reply::ok("RENAME completed");
}

}  // namespace homthu::imap::cmd
