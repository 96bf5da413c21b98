// SELECT / EXAMINE (RFC 9051 §6.3.2, §6.3.3) with CONDSTORE and QRESYNC
// (RFC 7162 §3.1.8, §3.2.5). Builds the sequence ↔ UID map the session
// keeps until the mailbox is closed.
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

#include <algorithm>
#include <set>

namespace homthu::imap::cmd {

namespace {

asio::awaitable<reply> open_mailbox(session& s, command& c, bool read_only) {
  auto a = proto::parse_select(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (a->qresync && !s.qresync) {
    co_return reply::bad("QRESYNC is not enabled");
  }
  // RFC 9051 §6.3.2: a failed SELECT leaves no mailbox selected.
  if (s.sel) {
    s.unselect();
    s.out("* OK [CLOSED] Previous mailbox closed\r\n");
  }
  std::string name;
  reply err;
  if (!decode_mailbox_arg(s, a->mailbox, name, err)) {
    co_return err;
  }
  if (a->condstore) {
    s.condstore = true;
  }
  storage::mailbox_status st;
  std::vector<storage::message_entry> msgs;
  storage::changes since;
  bool have_since = false;
  storage::recent_range recent;
  const bool want_recent = !s.rev2;
  auto ec = co_await s.work([&]() -> boost::system::error_code {
    auto r = s.store().status(s.account.id, name);
    if (!r) {
      return r.error();
    }
    st = *r;
    auto m = s.store().messages(s.account.id, st.id);
    if (!m) {
      return m.error();
    }
    msgs = std::move(*m);
    // RFC 3501 §2.3.2: the first read-write SELECT after delivery takes
    // \Recent; EXAMINE sees it without taking it. IMAP4rev2 has none.
    if (want_recent) {
      if (auto claimed = s.store().claim_recent(s.account.id, st.id, !read_only)) {
        recent = *claimed;
      }
    }
    if (a->qresync && a->qresync->uidvalidity == st.uidvalidity) {
      auto ch = s.store().changes_since(s.account.id, st.id, a->qresync->modseq);
      if (ch) {
        since = std::move(*ch);
        have_since = true;
      }
    }
    return {};
  });
  if (ec) {
    co_return storage_failure(ec, read_only ? "EXAMINE" : "SELECT");
  }
  auto m = std::make_unique<selected_mailbox>();
  m->id = st.id;
  m->name = st.name;
  m->read_only = read_only;
  m->uidvalidity = st.uidvalidity;
  m->uidnext = st.uidnext;
  m->known_modseq = st.highest_modseq;
  m->add_recent(recent.first, recent.end);
  std::set<std::string> keywords;
  std::uint32_t first_unseen = 0;
  for (const auto& e : msgs) {
    m->uids.push_back(e.uid);
    m->modseqs.push_back(e.modseq);
    m->known_modseq = std::max(m->known_modseq, e.modseq);
    for (const auto& k : e.flags_.keywords) {
      if (keywords.size() < 200) {
        keywords.insert(k);
      }
    }
    if (first_unseen == 0 && !(e.flags_.system & storage::flag_seen)) {
      first_unseen = m->count();
    }
  }
  std::string kw;
  for (const auto& k : keywords) {
    kw += " " + k;
  }
  std::string o;
  o += "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + ")\r\n";
  o += "* OK [PERMANENTFLAGS (" +
       std::string(read_only ? "" : "\\Answered \\Flagged \\Deleted \\Seen \\Draft" + kw + " \\*") +
       ")] Flags permitted\r\n";
  o += "* " + std::to_string(m->count()) + " EXISTS\r\n";
  if (!s.rev2) {
    o += "* " + std::to_string(m->recent_count()) + " RECENT\r\n";
    if (first_unseen) {
      o += "* OK [UNSEEN " + std::to_string(first_unseen) + "] First unseen\r\n";
    }
  }
  o += "* OK [UIDVALIDITY " + std::to_string(st.uidvalidity) + "] UIDs valid\r\n";
  o += "* OK [UIDNEXT " + std::to_string(st.uidnext) + "] Predicted next UID\r\n";
  o += "* OK [HIGHESTMODSEQ " + std::to_string(m->known_modseq) + "] Highest\r\n";
  if (have_since) {
    // RFC 7162 §3.2.5.2: VANISHED (EARLIER) for what the client knew, then
    // FETCH for what changed.
    std::vector<std::uint32_t> vanished;
    for (auto u : since.expunged) {
      if (!a->qresync->known_uids || a->qresync->known_uids->contains(u, m->uidnext)) {
        vanished.push_back(u);
      }
    }
    std::sort(vanished.begin(), vanished.end());
    if (!vanished.empty()) {
      o += "* VANISHED (EARLIER) " + proto::compress_numbers(vanished) + "\r\n";
    }
    for (const auto& e : since.changed) {
      if (auto seq = m->seq_of(e.uid)) {
        o += "* " + std::to_string(seq) + " FETCH (UID " + std::to_string(e.uid) + " FLAGS " +
             format_flags(e.flags_, want_recent && m->is_recent(e.uid)) + " MODSEQ (" + std::to_string(e.modseq) + "))\r\n";
      }
    }
  }
  s.out(o);
  s.select(std::move(m));
  co_return reply::ok(read_only ? "[READ-ONLY] EXAMINE completed" : "[READ-WRITE] SELECT completed");
}

}  // namespace

asio::awaitable<reply> select(session& s, command& c) { return open_mailbox(s, c, false); }
asio::awaitable<reply> examine(session& s, command& c) { return open_mailbox(s, c, true); }

}  // namespace homthu::imap::cmd
