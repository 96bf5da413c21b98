// EXPUNGE (RFC 9051 §6.4.3) and UID EXPUNGE (RFC 4315 §2.1). EXPUNGE
// responses go out highest sequence number first, so every number is right
// when the client reads it.
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> expunge(session& s, command& c) {
  std::optional<std::vector<std::uint32_t>> only;
  if (c.uid) {
    auto set = proto::parse_uid_expunge(c.lex);
    if (!set) {
      co_return reply::bad(c.lex.error());
    }
    std::vector<std::uint32_t> idx;
    if (!resolve_set(s, *set, true, idx)) {
      co_return reply::bad("No saved search result");
    }
    only.emplace();
    for (auto i : idx) {
      only->push_back(s.sel->uids[i]);
    }
  } else if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  if (s.sel->read_only) {
    co_return reply::no("[READ-ONLY] Mailbox is read-only");
  }
  auto id = s.sel->id;
  auto r = co_await s.work([&] {
    if (only) {
      return s.store().expunge(s.account.id, id, std::span<const std::uint32_t>(*only));
    }
    return s.store().expunge(s.account.id, id, std::nullopt);
  });
  if (!r) {
    co_return storage_failure(r.error(), "EXPUNGE");
  }
  // Our own expunges first, then whatever others did (the session's sync).
  auto& removed = *r;
  if (s.qresync && !removed.empty()) {
    std::vector<std::uint32_t> present;
    for (auto u : removed) {
      if (s.sel->seq_of(u)) {
        present.push_back(u);
      }
    }
    if (!present.empty()) {
      s.out("* VANISHED " + proto::compress_numbers(present) + "\r\n");
    }
    for (auto it = present.rbegin(); it != present.rend(); ++it) {
      s.sel->remove_seq(s.sel->seq_of(*it));
    }
  } else {
    for (auto it = removed.rbegin(); it != removed.rend(); ++it) {
      if (auto seq = s.sel->seq_of(*it)) {
        s.out("* " + std::to_string(seq) + " EXPUNGE\r\n");
        s.sel->remove_seq(seq);
      }
    }
  }
  std::erase_if(s.sel->pending_expunge, [&](std::uint32_t u) { return s.sel->seq_of(u) == 0; });
  co_await s.sync(true, true);
  co_return reply::ok("EXPUNGE completed");
}

}  // namespace homthu::imap::cmd
