// DELETE (RFC 9051 §6.3.5): children stay; INBOX cannot be deleted.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> delete_(session& s, command& c) {
  auto m = proto::parse_mailbox_only(c.lex);
  if (!m) {
    co_return reply::bad(c.lex.error());
  }
  std::string name;
  reply err;
  if (!decode_mailbox_arg(s, *m, name, err)) {
    co_return err;
  }
  if (name == "INBOX") {
    co_return reply::no("[CANNOT] INBOX cannot be deleted");
  }
  if (s.sel && s.sel->name == name) {
    // RFC 9051 §6.3.5 lets us refuse or unselect; unselecting is what
    // clients expect after deleting the open folder.
    s.unselect();
  }
  auto r = co_await s.work([&] { return s.store().delete_mailbox(s.account.id, name, false); });
  if (!r) {
    co_return storage_failure(r.error(), "DELETE");
  }
  co_return reply::ok("DELETE completed");
}

}  // namespace homthu::imap::cmd
