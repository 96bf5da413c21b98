// COPY and UID COPY (RFC 9051 §6.4.7) with COPYUID (RFC 4315 §3).
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> copy_or_move(session& s, command& c, bool move) {
  auto a = proto::parse_copy(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  std::string dest;
  reply err;
  if (!decode_mailbox_arg(s, a->mailbox, dest, err)) {
    co_return err;
  }
  std::vector<std::uint32_t> idx;
  if (!resolve_set(s, a->set, c.uid, idx)) {
    co_return reply::bad("No saved search result");
  }
  if (move && s.sel->read_only) {
    co_return reply::no("[READ-ONLY] Mailbox is read-only");
  }
  std::vector<std::uint32_t> uids;
  for (auto i : idx) {
    uids.push_back(s.sel->uids[i]);
  }
  if (uids.empty()) {
    co_return reply::ok(move ? "MOVE completed" : "COPY completed");
  }
  auto id = s.sel->id;
  auto r = co_await s.work([&] {
    return s.store().copy(s.account.id, id, uids, dest, move, s.account.quota_bytes, s.account.quota_messages);
  });
  if (!r) {
    if (r.error() == storage::error::not_found) {
      co_return reply::no("[TRYCREATE] No such mailbox");
    }
    co_return storage_failure(r.error(), move ? "MOVE" : "COPY");
  }
  std::string code;
  if (!r->source_uids.empty()) {
    code = "[COPYUID " + std::to_string(r->uidvalidity) + " " + proto::compress_numbers(r->source_uids) + " " +
           proto::compress_numbers(r->dest_uids) + "] ";
    // compress_numbers expects sorted input; COPYUID pairs by position, so
    // write the lists unsorted when needed.
    bool sorted = std::is_sorted(r->dest_uids.begin(), r->dest_uids.end()) &&
                  std::is_sorted(r->source_uids.begin(), r->source_uids.end());
    if (!sorted) {
      auto join = [](const std::vector<std::uint32_t>& v) {
        std::string o;
        for (auto u : v) {
          o += (o.empty() ? "" : ",") + std::to_string(u);
        }
        return o;
      };
      code = "[COPYUID " + std::to_string(r->uidvalidity) + " " + join(r->source_uids) + " " + join(r->dest_uids) +
             "] ";
    }
  }
  if (!move) {
    co_return reply::ok(code + "COPY completed");
  }
  // RFC 6851 §3.3: COPYUID goes in an untagged OK before the expunges.
  if (!code.empty()) {
    s.out("* OK " + code + "Moved\r\n");
  }
  std::vector<std::uint32_t> gone = r->source_uids;
  std::sort(gone.begin(), gone.end());
  if (s.qresync) {
    s.out("* VANISHED " + proto::compress_numbers(gone) + "\r\n");
    for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
      if (auto seq = s.sel->seq_of(*it)) {
        s.sel->remove_seq(seq);
      }
    }
  } else {
    for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
      if (auto seq = s.sel->seq_of(*it)) {
        s.out("* " + std::to_string(seq) + " EXPUNGE\r\n");
        s.sel->remove_seq(seq);
      }
    }
  }
  co_return reply::ok("MOVE completed");
}

asio::awaitable<reply> copy(session& s, command& c) { return copy_or_move(s, c, false); }

}  // namespace homthu::imap::cmd
