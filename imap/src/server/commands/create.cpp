// CREATE (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154 §3). A trailing
// separator only says the client wants to create children later.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> create(session& s, command& c) {
  auto a = proto::parse_create(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  std::string wire = a->mailbox;
  while (wire.size() > 1 && wire.back() == '/') {
    wire.pop_back();
  }
  std::string name;
  reply err;
  if (!decode_mailbox_arg(s, wire, name, err)) {
    co_return err;
  }
  if (name == "INBOX") {
    co_return reply::no("[ALREADYEXISTS] INBOX always exists");
  }
  storage::special_use use = storage::special_use::none;
  if (a->use.size() > 1) {
    co_return reply::no("[USEATTR] Only one special use per mailbox");
  }
  if (!a->use.empty()) {
    const auto& u = a->use[0];
    if (proto::iequals(u, "\\Sent")) use = storage::special_use::sent;
    else if (proto::iequals(u, "\\Drafts")) use = storage::special_use::drafts;
    else if (proto::iequals(u, "\\Trash")) use = storage::special_use::trash;
    else if (proto::iequals(u, "\\Junk")) use = storage::special_use::junk;
    else if (proto::iequals(u, "\\Archive")) use = storage::special_use::archive;
    else {
      co_return reply::no("[USEATTR] Unsupported special use " + u.substr(0, 32));
    }
  }
  auto r = co_await s.work([&] { return s.store().create_mailbox(s.account.id, name, use); });
  if (!r) {
    co_return storage_failure(r.error(), "CREATE");
  }
  co_return reply::ok("CREATE completed");
}

}  // namespace homthu::imap::cmd
