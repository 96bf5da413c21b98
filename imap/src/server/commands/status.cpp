// STATUS (RFC 9051 §6.3.11; HIGHESTMODSEQ RFC 7162 §3.1.6; SIZE RFC 8438).
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::cmd {

std::string status_items(const storage::mailbox_status& m, const std::vector<std::string>& items,
                         std::uint32_t deleted) {
  std::string out = "(";
  for (const auto& it : items) {
    if (out.size() > 1) {
      out.push_back(' ');
    }
    out += it + " ";
    if (it == "MESSAGES") out += std::to_string(m.messages);
    else if (it == "UIDNEXT") out += std::to_string(m.uidnext);
    else if (it == "UIDVALIDITY") out += std::to_string(m.uidvalidity);
    else if (it == "UNSEEN") out += std::to_string(m.unseen);
    else if (it == "RECENT") out += std::to_string(m.recent);
    else if (it == "SIZE") out += std::to_string(m.size);
    else if (it == "HIGHESTMODSEQ") out += std::to_string(m.highest_modseq);
    else if (it == "DELETED") out += std::to_string(deleted);
  }
  out.push_back(')');
  return out;
}

std::uint32_t count_deleted(session& s, std::int64_t mailbox_id) {
  auto msgs = s.store().messages(s.account.id, mailbox_id);
  std::uint32_t n = 0;
  if (msgs) {
    for (const auto& e : *msgs) {
      n += (e.flags_.system & storage::flag_deleted) ? 1 : 0;
    }
  }
  return n;
}

asio::awaitable<reply> status(session& s, command& c) {
  auto a = proto::parse_status(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  std::string name;
  reply err;
  if (!decode_mailbox_arg(s, a->mailbox, name, err)) {
    co_return err;
  }
  bool want_deleted = std::find(a->items.begin(), a->items.end(), "DELETED") != a->items.end();
  std::uint32_t deleted = 0;
  auto st = co_await s.work([&]() -> storage::result<storage::mailbox_status> {
    auto r = s.store().status(s.account.id, name);
    if (r && want_deleted) {
      deleted = count_deleted(s, r->id);
    }
    return r;
  });
  if (!st) {
    co_return storage_failure(st.error(), "STATUS");
  }
  if (std::find(a->items.begin(), a->items.end(), "HIGHESTMODSEQ") != a->items.end()) {
    s.condstore = true;  // RFC 7162 §3.1: a CONDSTORE-enabling command
  }
  std::string line = "* STATUS ";
  s.append_mailbox(line, st->name);
  line += " " + status_items(*st, a->items, deleted) + "\r\n";
  s.out(line);
  co_return reply::ok("STATUS completed");
}

}  // namespace homthu::imap::cmd
