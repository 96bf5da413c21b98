// STORE and UID STORE (RFC 9051 §6.4.6) with UNCHANGEDSINCE (RFC 7162
// §3.1.3). The FETCH responses for our own change are sent here; the
// session's sync knows their MODSEQ and does not repeat them.
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> store(session& s, command& c) {
  auto a = proto::parse_store(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  storage::flags f;
  std::string why;
  if (!parse_flags(a->flags, f, why)) {
    co_return reply::bad(why);
  }
  std::vector<std::uint32_t> idx;
  if (!resolve_set(s, a->set, c.uid, idx)) {
    co_return reply::bad("No saved search result");
  }
  if (s.sel->read_only) {
    co_return reply::no("[READ-ONLY] Mailbox is read-only");
  }
  if (a->unchanged_since) {
    s.condstore = true;
  }
  std::vector<std::uint32_t> uids;
  for (auto i : idx) {
    uids.push_back(s.sel->uids[i]);
  }
  if (uids.empty()) {
    co_return reply::ok("STORE completed");
  }
  storage::flag_op op = a->mode == proto::store_args::op::add      ? storage::flag_op::add
                        : a->mode == proto::store_args::op::remove ? storage::flag_op::remove
                                                                   : storage::flag_op::replace;
  auto id = s.sel->id;
  auto r = co_await s.work(
      [&] { return s.store().store_flags(s.account.id, id, uids, op, f, a->unchanged_since); });
  if (!r) {
    co_return storage_failure(r.error(), "STORE");
  }
  for (const auto& e : r->changed) {
    auto seq = s.sel->seq_of(e.uid);
    if (seq == 0) {
      continue;
    }
    s.sel->modseqs[seq - 1] = std::max(s.sel->modseqs[seq - 1], e.modseq);
    // .SILENT still reports MODSEQ changes when UNCHANGEDSINCE was used
    // (RFC 7162 §3.1.3).
    if (a->silent && !a->unchanged_since) {
      continue;
    }
    std::string line = "* " + std::to_string(seq) + " FETCH (";
    if (c.uid || s.qresync) {
      line += "UID " + std::to_string(e.uid) + " ";
    }
    if (!a->silent) {
      line += "FLAGS " + format_flags(e.flags_, s.recent(e.uid));
    }
    if (s.condstore) {
      line += std::string(a->silent ? "" : " ") + "MODSEQ (" + std::to_string(e.modseq) + ")";
    }
    line += ")\r\n";
    s.out(line);
  }
  if (!r->failed.empty()) {
    std::vector<std::uint32_t> nums;
    for (auto u : r->failed) {
      nums.push_back(c.uid ? u : s.sel->seq_of(u));
    }
    std::sort(nums.begin(), nums.end());
    co_return reply::ok("[MODIFIED " + proto::compress_numbers(nums) + "] Conditional STORE failed");
  }
  co_return reply::ok("STORE completed");
}

}  // namespace homthu::imap::cmd
