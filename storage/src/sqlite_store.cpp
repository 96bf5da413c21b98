// The store: mailboxes, messages, flags, MODSEQ, quotas, full-text search
// and the change feed, over one SQLite database (WAL, synchronous=FULL) and
// content-addressed blob files.
//
// Trusts: callers for account ids (the directory resolved them) and quota
// figures; nothing else. Mailbox names are validated (names.cpp); a mailbox
// id is always checked against the account that names it, so one account
// can never reach another's mailbox by id (RELIABILITY.md I10).
//
// Invariants:
// - Every mutation runs on the writer thread (writer.hpp) inside one group
//   commit; readers use their own WAL connections and never block it.
// - A message row exists only once its blob is durable: deliver() and
//   append() take a blob id from spool::finish(), which fsyncs a blob file
//   first; a small blob kept in memory by its spool (inline_max) is inserted
//   into blob_content in the same transaction as the rows naming it.
// - blobs.refcount equals the number of message rows naming the blob;
//   accounts.bytes/messages and mailboxes.messages/unseen/size equal the
//   sums over their messages (fsck checks all of these).
// - No lock is held across file I/O or a commit: the writer queue lock and
//   the watcher lock guard only in-memory containers.

#include "blob/blob_store.hpp"
#include "db/sqlite.hpp"
#include "homthu/common/config.hpp"
#include "homthu/storage/store.hpp"
#include "mime/parse.hpp"
#include "names.hpp"
#include "schema.hpp"
#include "text/fold.hpp"
#include "writer.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

namespace homthu::storage {

namespace {

using boost::system::error_code;

error_code err(error e) { return make_error_code(e); }

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

// --- flags -------------------------------------------------------------

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> split_keywords(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    std::size_t sp = s.find(' ', start);
    if (sp == std::string::npos) {
      sp = s.size();
    }
    if (sp > start) {
      out.emplace_back(s.substr(start, sp - start));
    }
    start = sp + 1;
  }
  return out;
}

std::string join_keywords(const std::vector<std::string>& k) {
  std::string s;
  for (const auto& w : k) {
    if (!s.empty()) {
      s.push_back(' ');
    }
    s += w;
  }
  return s;
}

// Keywords are IMAP atoms; anything else (space, controls, parentheses)
// could corrupt the stored list or a FETCH response, so it is dropped.
bool valid_keyword(std::string_view k) {
  if (k.empty() || k.size() > 200 || k.front() == '\\') {
    return false;
  }
  for (char ch : k) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F || c == '(' || c == ')' || c == '{' || c == '%' || c == '*' || c == '"' ||
        c == '\\' || c == ']') {
      return false;
    }
  }
  return true;
}

flags normalized(const flags& f) {
  flags out;
  out.system = f.system & (flag_seen | flag_answered | flag_flagged | flag_deleted | flag_draft);
  for (const auto& k : f.keywords) {
    if (!valid_keyword(k)) {
      continue;
    }
    bool dup = false;
    for (const auto& have : out.keywords) {
      dup = dup || iequals(have, k);
    }
    if (!dup) {
      out.keywords.push_back(k);
    }
  }
  return out;
}

flags apply_flags(const flags& cur, flag_op op, const flags& f) {
  flags out = cur;
  switch (op) {
    case flag_op::replace:
      out = f;
      break;
    case flag_op::add:
      out.system |= f.system;
      for (const auto& k : f.keywords) {
        bool have = false;
        for (const auto& h : out.keywords) {
          have = have || iequals(h, k);
        }
        if (!have) {
          out.keywords.push_back(k);
        }
      }
      break;
    case flag_op::remove:
      out.system &= ~f.system;
      std::erase_if(out.keywords, [&](const std::string& h) {
        for (const auto& k : f.keywords) {
          if (iequals(h, k)) {
            return true;
          }
        }
        return false;
      });
      break;
  }
  return out;
}

bool same_flags(const flags& a, const flags& b) {
  if (a.system != b.system || a.keywords.size() != b.keywords.size()) {
    return false;
  }
  for (const auto& k : a.keywords) {
    bool found = false;
    for (const auto& h : b.keywords) {
      found = found || iequals(h, k);
    }
    if (!found) {
      return false;
    }
  }
  return true;
}

std::uint32_t unseen_of(std::uint32_t system) { return (system & flag_seen) ? 0 : 1; }

// --- rows --------------------------------------------------------------

struct mbox_row {
  std::int64_t id = 0;
  std::int64_t account_id = 0;
  std::string name;
  int special = 0;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint64_t highest_modseq = 1;
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  std::uint64_t size = 0;
  std::uint32_t first_recent_uid = 1;  // \Recent: uids from here on are not yet claimed
};

#define MBOX_COLS \
  "id, account_id, name, special, uidvalidity, uidnext, highest_modseq, messages, unseen, size, first_recent_uid"

mbox_row read_mbox(const db::statement& s) {
  mbox_row r;
  r.id = s.i64(0);
  r.account_id = s.i64(1);
  r.name = s.text(2);
  r.special = static_cast<int>(s.i64(3));
  r.uidvalidity = static_cast<std::uint32_t>(s.i64(4));
  r.uidnext = static_cast<std::uint32_t>(s.i64(5));
  r.highest_modseq = static_cast<std::uint64_t>(s.i64(6));
  r.messages = static_cast<std::uint32_t>(s.i64(7));
  r.unseen = static_cast<std::uint32_t>(s.i64(8));
  r.size = static_cast<std::uint64_t>(s.i64(9));
  r.first_recent_uid = static_cast<std::uint32_t>(s.i64(10));
  return r;
}

// Adds a column the schema gained after databases were first made, then
// runs `fill` (in the same transaction) to give existing rows their value.
// The check is the column's presence, since the schema has no version number.
void add_column(db::connection& c, const char* table, const char* column, const std::string& decl,
                const std::string& fill) {
  bool present = false;
  {
    auto cols = c.prepare("SELECT 1 FROM pragma_table_info(?) WHERE name = ?");
    cols.bind(1, std::string_view(table)).bind(2, std::string_view(column));
    present = cols.step();
  }
  if (present) {
    return;
  }
  c.exec("BEGIN IMMEDIATE");
  try {
    c.exec(("ALTER TABLE " + std::string(table) + " ADD COLUMN " + column + " " + decl).c_str());
    if (!fill.empty()) {
      c.exec(fill.c_str());
    }
    c.exec("COMMIT");
  } catch (...) {
    c.exec("ROLLBACK");
    throw;
  }
}

void migrate(db::connection& c) {
  // \Recent (RFC 3501 §2.3.2): existing messages are not recent; mailboxes
  // made afterwards start at 1, so everything delivered before the first
  // SELECT is.
  add_column(c, "mailboxes", "first_recent_uid", "INTEGER NOT NULL DEFAULT 1",
             "UPDATE mailboxes SET first_recent_uid = uidnext");
  // Expunge history trimming: when each entry was made, and per mailbox the
  // highest MODSEQ trimmed. Existing entries count from the upgrade.
  add_column(c, "expunged", "at", "INTEGER NOT NULL DEFAULT 0",
             "UPDATE expunged SET at = " + std::to_string(now()));
  add_column(c, "mailboxes", "expunge_floor", "INTEGER NOT NULL DEFAULT 0", {});
  // A full-text index of another format (format 1 kept a copy of every
  // text) is dropped and made again: every message is pending, and the
  // writer indexes them in the background from the stored messages (a
  // SEARCH first indexes the mailbox it searches).
  std::int64_t format = 0;
  {
    auto s = c.prepare("SELECT value FROM settings WHERE key = 'fts_format'");
    if (s.step()) {
      format = s.i64(0);
    }
  }
  if (format == fts_format) {
    return;
  }
  c.exec("BEGIN IMMEDIATE");
  try {
    c.exec("DROP TABLE IF EXISTS fts");
    c.exec(schema_sql);  // every statement IF NOT EXISTS: makes fts again
    c.exec("INSERT OR IGNORE INTO fts_pending(blob_id) SELECT id FROM blobs");
    auto s = c.prepare("INSERT OR REPLACE INTO settings(key, value) VALUES('fts_format', ?)");
    s.bind(1, std::int64_t{fts_format});
    s.run();
    c.exec("COMMIT");
  } catch (...) {
    c.exec("ROLLBACK");
    throw;
  }
}

std::optional<std::int64_t> find_account(db::connection& c, const std::string& name) {
  auto& s = c.cached("SELECT id FROM accounts WHERE name = ?");
  db::reset_guard g(s);
  s.bind(1, name);
  if (s.step()) {
    return s.i64(0);
  }
  return std::nullopt;
}

std::optional<mbox_row> find_mailbox(db::connection& c, std::int64_t account_id, const std::string& name) {
  auto& s = c.cached("SELECT " MBOX_COLS " FROM mailboxes WHERE account_id = ? AND name = ?");
  db::reset_guard g(s);
  s.bind(1, account_id).bind(2, name);
  if (s.step()) {
    return read_mbox(s);
  }
  return std::nullopt;
}

// The mailbox with this id, only when it belongs to the named account.
std::optional<mbox_row> owned_mailbox(db::connection& c, const std::string& account, std::int64_t id) {
  auto& s = c.cached("SELECT m.id, m.account_id, m.name, m.special, m.uidvalidity, m.uidnext, m.highest_modseq, "
                     "m.messages, m.unseen, m.size, m.first_recent_uid FROM mailboxes m "
                     "JOIN accounts a ON a.id = m.account_id WHERE m.id = ? AND a.name = ?");
  db::reset_guard g(s);
  s.bind(1, id).bind(2, account);
  if (s.step()) {
    return read_mbox(s);
  }
  return std::nullopt;
}

special_use default_use(std::string_view name) {
  if (name == "Sent") {
    return special_use::sent;
  }
  if (name == "Drafts") {
    return special_use::drafts;
  }
  if (name == "Trash") {
    return special_use::trash;
  }
  if (name == "Junk") {
    return special_use::junk;
  }
  if (name == "Archive") {
    return special_use::archive;
  }
  return special_use::none;
}

// RFC 9051 §2.3.1.1: UIDVALIDITY must change whenever a name is reused;
// a counter that never goes back (even if the clock does, D8) guarantees it.
std::uint32_t next_uidvalidity(db::connection& c) {
  std::int64_t last = 0;
  {
    auto& s = c.cached("SELECT value FROM settings WHERE key = 'uidvalidity'");
    db::reset_guard g(s);
    if (s.step()) {
      last = s.i64(0);
    }
  }
  std::int64_t v = std::max<std::int64_t>(now(), last + 1);
  if (v > 0xFFFFFFFFll) {
    v = 1;
  }
  auto& u = c.cached("INSERT INTO settings(key, value) VALUES('uidvalidity', ?) "
                     "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
  u.bind(1, v);
  u.run();
  return static_cast<std::uint32_t>(v);
}

mbox_row insert_mailbox(db::connection& c, std::int64_t account_id, const std::string& account,
                        const std::string& name, special_use use, std::vector<change_event>& events) {
  mbox_row r;
  r.account_id = account_id;
  r.name = name;
  r.special = static_cast<int>(use);
  r.uidvalidity = next_uidvalidity(c);
  auto& s = c.cached("INSERT INTO mailboxes(account_id, name, special, uidvalidity) VALUES(?, ?, ?, ?)");
  s.bind(1, account_id).bind(2, name).bind(3, static_cast<std::int64_t>(use)).bind(4, static_cast<std::int64_t>(r.uidvalidity));
  s.run();
  r.id = c.last_insert_rowid();
  events.push_back({change_event::kind::mailbox_created, account, r.id, r.highest_modseq});
  return r;
}

// RFC 9051 §6.3.4: superior names a CREATE needs are created too.
void ensure_superiors(db::connection& c, std::int64_t account_id, const std::string& account,
                      const std::string& name, std::vector<change_event>& events) {
  std::size_t pos = 0;
  while ((pos = name.find('/', pos)) != std::string::npos) {
    std::string parent = name.substr(0, pos);
    if (!find_mailbox(c, account_id, parent)) {
      insert_mailbox(c, account_id, account, parent, special_use::none, events);
    }
    ++pos;
  }
}

void subscribe_row(db::connection& c, std::int64_t account_id, const std::string& name) {
  auto& s = c.cached("INSERT OR IGNORE INTO subscriptions(account_id, name) VALUES(?, ?)");
  s.bind(1, account_id).bind(2, name);
  s.run();
}

// Creates the account with INBOX and the RFC 6154 special-use mailboxes,
// all subscribed, on first use.
std::int64_t ensure_account(db::connection& c, const std::string& account, std::vector<change_event>& events) {
  if (auto id = find_account(c, account)) {
    return *id;
  }
  auto& s = c.cached("INSERT INTO accounts(name) VALUES(?)");
  s.bind(1, account);
  s.run();
  std::int64_t id = c.last_insert_rowid();
  for (const char* n : {"INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"}) {
    insert_mailbox(c, id, account, n, default_use(n), events);
    subscribe_row(c, id, n);
  }
  return id;
}

void adjust_refcount(db::connection& c, std::int64_t blob_id, std::int64_t delta) {
  auto& s = c.cached("UPDATE blobs SET refcount = refcount + ? WHERE id = ?");
  s.bind(1, delta).bind(2, blob_id);
  s.run();
}

void adjust_account(db::connection& c, std::int64_t account_id, std::int64_t bytes, std::int64_t messages) {
  auto& s = c.cached("UPDATE accounts SET bytes = bytes + ?, messages = messages + ? WHERE id = ?");
  s.bind(1, bytes).bind(2, messages).bind(3, account_id);
  s.run();
}

struct quota_check {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
};

error_code check_quota(db::connection& c, std::int64_t account_id, std::uint64_t add_bytes, std::uint64_t add_messages,
                       std::uint64_t quota_bytes, std::uint64_t quota_messages) {
  if (quota_bytes == 0 && quota_messages == 0) {
    return {};
  }
  auto& s = c.cached("SELECT bytes, messages FROM accounts WHERE id = ?");
  db::reset_guard g(s);
  s.bind(1, account_id);
  if (!s.step()) {
    return err(error::not_found);
  }
  auto bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.i64(0)));
  auto messages = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.i64(1)));
  if ((quota_bytes != 0 && bytes + add_bytes > quota_bytes) ||
      (quota_messages != 0 && messages + add_messages > quota_messages)) {
    return err(error::over_quota);
  }
  return {};
}

// Adds one message row; the caller has checked quota. Returns its uid.
std::uint32_t insert_message(db::connection& c, mbox_row& m, std::int64_t blob_id, std::uint64_t size,
                             const flags& f, std::int64_t internal_date, std::uint64_t modseq) {
  std::uint32_t uid = m.uidnext;
  auto& s = c.cached("INSERT INTO messages(mailbox_id, uid, modseq, flags, keywords, internal_date, size, blob_id) "
                     "VALUES(?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, m.id).bind(2, static_cast<std::int64_t>(uid)).bind(3, static_cast<std::int64_t>(modseq));
  s.bind(4, static_cast<std::int64_t>(f.system)).bind(5, join_keywords(f.keywords)).bind(6, internal_date);
  s.bind(7, static_cast<std::int64_t>(size)).bind(8, blob_id);
  s.run();
  m.uidnext = uid + 1;
  m.highest_modseq = std::max(m.highest_modseq, modseq);
  m.messages += 1;
  m.unseen += unseen_of(f.system);
  m.size += size;
  auto& u = c.cached("UPDATE mailboxes SET uidnext = ?, highest_modseq = ?, messages = ?, unseen = ?, size = ? "
                     "WHERE id = ?");
  u.bind(1, static_cast<std::int64_t>(m.uidnext)).bind(2, static_cast<std::int64_t>(m.highest_modseq));
  u.bind(3, static_cast<std::int64_t>(m.messages)).bind(4, static_cast<std::int64_t>(m.unseen));
  u.bind(5, static_cast<std::int64_t>(m.size)).bind(6, m.id);
  u.run();
  adjust_refcount(c, blob_id, 1);
  adjust_account(c, m.account_id, static_cast<std::int64_t>(size), 1);
  return uid;
}

struct removed_message {
  std::uint32_t uid;
  std::uint32_t flags;
  std::uint64_t size;
  std::int64_t blob_id;
};

// How much expunged-uid history each mailbox keeps for QRESYNC
// (storage/README.md, "Expunge history").
struct history_policy {
  std::uint64_t keep = 100;       // the newest entries of a mailbox, whatever their age
  std::int64_t max_age = 30 * 86400;  // seconds; younger entries are kept too
};

// Drops the entries of a mailbox's history that are both older than the
// policy's age and not among its newest `keep`, and raises the mailbox's
// expunge_floor to the highest MODSEQ dropped: changes since a MODSEQ below
// the floor can no longer be listed exactly (changes_since then falls back,
// RFC 7162 §3.2.5.2). Whole MODSEQ groups go together, so the floor never
// splits one EXPUNGE. Costs O(keep + entries dropped) through the
// (mailbox_id, modseq) index, so running it at every expunge is cheap.
void trim_history(db::connection& c, std::int64_t mailbox_id, const history_policy& p) {
  std::int64_t below = std::numeric_limits<std::int64_t>::max();
  if (p.keep > 0) {
    auto& s = c.cached("SELECT modseq FROM expunged WHERE mailbox_id = ? ORDER BY modseq DESC LIMIT 1 OFFSET ?");
    db::reset_guard g(s);
    s.bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(p.keep - 1));
    if (!s.step()) {
      return;  // no more than `keep` entries
    }
    below = s.i64(0);
  }
  // Oldest first; stop at the first entry still young enough. `at` grows
  // with modseq, and if the clock stepped back this only keeps more.
  const std::int64_t cutoff = now() - p.max_age;
  std::int64_t upto = 0;
  {
    auto& s = c.cached("SELECT modseq, at FROM expunged WHERE mailbox_id = ? AND modseq < ? ORDER BY modseq");
    db::reset_guard g(s);
    s.bind(1, mailbox_id).bind(2, below);
    while (s.step() && s.i64(1) <= cutoff) {
      upto = s.i64(0);
    }
  }
  if (upto == 0) {
    return;
  }
  auto& d = c.cached("DELETE FROM expunged WHERE mailbox_id = ? AND modseq <= ?");
  d.bind(1, mailbox_id).bind(2, upto);
  d.run();
  auto& u = c.cached("UPDATE mailboxes SET expunge_floor = max(expunge_floor, ?) WHERE id = ?");
  u.bind(1, upto).bind(2, mailbox_id);
  u.run();
}

// Removes message rows, recording them in the expunged history (QRESYNC
// VANISHED, RFC 7162 §3.2.10) under `modseq` unless `history` is null, and
// fixes every counter.
void remove_messages(db::connection& c, mbox_row& m, const std::vector<removed_message>& rows, std::uint64_t modseq,
                     const history_policy* history) {
  if (rows.empty()) {
    return;
  }
  auto& del = c.cached("DELETE FROM messages WHERE mailbox_id = ? AND uid = ?");
  auto& hist = c.cached("INSERT OR REPLACE INTO expunged(mailbox_id, uid, modseq, at) VALUES(?, ?, ?, ?)");
  const std::int64_t at = now();
  std::int64_t bytes = 0;
  for (const auto& r : rows) {
    del.bind(1, m.id).bind(2, static_cast<std::int64_t>(r.uid));
    del.run();
    if (history) {
      hist.bind(1, m.id).bind(2, static_cast<std::int64_t>(r.uid)).bind(3, static_cast<std::int64_t>(modseq));
      hist.bind(4, at);
      hist.run();
    }
    adjust_refcount(c, r.blob_id, -1);
    m.messages -= 1;
    m.unseen -= unseen_of(r.flags);
    m.size -= r.size;
    bytes += static_cast<std::int64_t>(r.size);
  }
  m.highest_modseq = std::max(m.highest_modseq, modseq);
  auto& u = c.cached("UPDATE mailboxes SET highest_modseq = ?, messages = ?, unseen = ?, size = ? WHERE id = ?");
  u.bind(1, static_cast<std::int64_t>(m.highest_modseq)).bind(2, static_cast<std::int64_t>(m.messages));
  u.bind(3, static_cast<std::int64_t>(m.unseen)).bind(4, static_cast<std::int64_t>(m.size)).bind(5, m.id);
  u.run();
  adjust_account(c, m.account_id, -bytes, -static_cast<std::int64_t>(rows.size()));
  if (history) {
    trim_history(c, m.id, *history);
  }
}

std::vector<removed_message> all_messages(db::connection& c, std::int64_t mailbox_id) {
  std::vector<removed_message> out;
  auto s = c.prepare("SELECT uid, flags, size, blob_id FROM messages WHERE mailbox_id = ? ORDER BY uid");
  s.bind(1, mailbox_id);
  while (s.step()) {
    out.push_back({static_cast<std::uint32_t>(s.i64(0)), static_cast<std::uint32_t>(s.i64(1)),
                   static_cast<std::uint64_t>(s.i64(2)), s.i64(3)});
  }
  return out;
}

void drop_mailbox(db::connection& c, mbox_row& m, const std::string& account, std::vector<change_event>& events) {
  remove_messages(c, m, all_messages(c, m.id), m.highest_modseq + 1, nullptr);
  auto d1 = c.prepare("DELETE FROM expunged WHERE mailbox_id = ?");
  d1.bind(1, m.id);
  d1.run();
  auto d2 = c.prepare("DELETE FROM mailboxes WHERE id = ?");
  d2.bind(1, m.id);
  d2.run();
  events.push_back({change_event::kind::mailbox_deleted, account, m.id, m.highest_modseq});
}

// Inserts the blob's metadata row (and its FTS row) when absent; returns its id.
std::optional<std::int64_t> blob_row(db::connection& c, const std::string& hash) {
  auto& s = c.cached("SELECT id FROM blobs WHERE hash = ?");
  db::reset_guard g(s);
  s.bind(1, hash);
  if (s.step()) {
    return s.i64(0);
  }
  return std::nullopt;
}

std::int64_t insert_blob_row(db::connection& c, const std::string& hash, std::uint64_t size, const mime::parsed& p) {
  const auto& m = p.meta;
  // The id follows every id ever used, even of rows garbage collection has
  // deleted since (schema.hpp, fts).
  auto& s = c.cached(
      "INSERT INTO blobs(id, hash, size, refcount, envelope, bodystructure, body, subject, base_subject, from_, to_, "
      "cc, bcc, sort_from, sort_to, sort_cc, display_from, display_to, message_id, in_reply_to, refs, sent_date, "
      "header_size) VALUES(1 + max(coalesce((SELECT max(id) FROM blobs), 0), "
      "coalesce((SELECT value FROM settings WHERE key = 'blob_id_floor'), 0)), "
      "?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  s.bind(1, hash).bind(2, static_cast<std::int64_t>(size));
  int i = 3;
  for (const std::string* v : {&m.envelope, &m.bodystructure, &m.body, &m.subject, &m.base_subject, &m.from, &m.to,
                               &m.cc, &m.bcc, &m.sort_from, &m.sort_to, &m.sort_cc, &m.display_from, &m.display_to,
                               &m.message_id, &m.in_reply_to, &m.references}) {
    s.bind(i++, *v);
  }
  s.bind(i, m.sent_date).bind(i + 1, static_cast<std::int64_t>(m.header_size));
  s.run();
  std::int64_t id = c.last_insert_rowid();
  auto& q = c.cached("INSERT OR IGNORE INTO fts_pending(blob_id) VALUES(?)");
  q.bind(1, id);
  q.run();
  return id;
}

// What the full-text index holds of one message.
struct fts_texts {
  std::string hash;  // the blob the texts were taken from
  std::string subject, from, to, cc, bcc, body;

  std::size_t bytes() const {
    return subject.size() + from.size() + to.size() + cc.size() + bcc.size() + body.size();
  }
};

fts_texts texts_of(const std::string& hash, mime::parsed& p) {
  const auto& m = p.meta;
  return fts_texts{hash, m.subject, m.from, m.to, m.cc, m.bcc, std::move(p.body_text)};
}

// Binds the folded texts to parameters 2..7 (1 is the rowid).
void bind_fts_texts(db::statement& s, std::int64_t id, const fts_texts& t) {
  s.bind(1, id).bind(2, text::fold_for_index(t.subject)).bind(3, text::fold_for_index(t.from));
  s.bind(4, text::fold_for_index(t.to)).bind(5, text::fold_for_index(t.cc)).bind(6, text::fold_for_index(t.bcc));
  s.bind(7, text::fold_for_index(t.body));
}

// A blob is indexed exactly when it has no fts_pending row: the index row
// and the pending row change in one transaction.
void insert_fts_row(db::connection& c, std::int64_t id, const fts_texts& t) {
  auto& f = c.cached("INSERT INTO fts(rowid, subject, from_, to_, cc, bcc, body) VALUES(?, ?, ?, ?, ?, ?, ?)");
  bind_fts_texts(f, id, t);
  f.run();
  auto& q = c.cached("DELETE FROM fts_pending WHERE blob_id = ?");
  q.bind(1, id);
  q.run();
}

// Removes an indexed blob's entries. A contentless table takes the texts
// the row was made from: other texts would leave entries behind (harmless,
// since ids are never reused, but never reclaimed).
void delete_fts_row(db::connection& c, std::int64_t id, const fts_texts& t) {
  auto& f = c.cached(
      "INSERT INTO fts(fts, rowid, subject, from_, to_, cc, bcc, body) VALUES('delete', ?, ?, ?, ?, ?, ?, ?)");
  bind_fts_texts(f, id, t);
  f.run();
}

flags read_flags(const db::statement& s, int sys_col, int kw_col) {
  flags f;
  f.system = static_cast<std::uint32_t>(s.i64(sys_col));
  if (!s.is_null(kw_col)) {
    auto k = s.text(kw_col);
    if (!k.empty()) {
      f.keywords = split_keywords(k);
    }
  }
  return f;
}

std::vector<std::uint32_t> sorted_unique(std::span<const std::uint32_t> uids) {
  std::vector<std::uint32_t> v(uids.begin(), uids.end());
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// --- readers -----------------------------------------------------------

class reader_pool {
 public:
  reader_pool(std::string path, bool fsync) : path_(std::move(path)), fsync_(fsync) {}

  class lease {
   public:
    lease(reader_pool& p, std::unique_ptr<db::connection> c) : p_(p), c_(std::move(c)) {}
    ~lease() { p_.give_back(std::move(c_)); }
    db::connection& operator*() { return *c_; }

   private:
    reader_pool& p_;
    std::unique_ptr<db::connection> c_;
  };

  lease get() {
    {
      std::lock_guard lk(mutex_);
      if (!free_.empty()) {
        auto c = std::move(free_.back());
        free_.pop_back();
        return lease(*this, std::move(c));
      }
    }
    return lease(*this, std::make_unique<db::connection>(path_, true, fsync_));
  }

 private:
  void give_back(std::unique_ptr<db::connection> c) {
    std::lock_guard lk(mutex_);
    if (free_.size() < 32) {
      free_.push_back(std::move(c));
    }
  }

  std::string path_;
  bool fsync_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<db::connection>> free_;
};

// --- change feed -------------------------------------------------------

class watch_registry {
 public:
  using fn = std::function<void(const change_event&)>;

  std::uint64_t add(const std::string& account, fn f) {
    std::lock_guard lk(mutex_);
    std::uint64_t id = ++next_;
    by_account_[account].emplace(id, std::make_shared<fn>(std::move(f)));
    return id;
  }

  void remove(const std::string& account, std::uint64_t id) {
    std::lock_guard lk(mutex_);
    auto it = by_account_.find(account);
    if (it != by_account_.end()) {
      it->second.erase(id);
      if (it->second.empty()) {
        by_account_.erase(it);
      }
    }
  }

  void publish(const std::vector<change_event>& events) {
    // Callbacks run outside the lock, so a session may unsubscribe from any
    // thread without waiting for a slow callback.
    std::vector<std::pair<std::shared_ptr<fn>, const change_event*>> calls;
    {
      std::lock_guard lk(mutex_);
      for (const auto& e : events) {
        auto it = by_account_.find(e.account);
        if (it == by_account_.end()) {
          continue;
        }
        for (const auto& [id, f] : it->second) {
          calls.emplace_back(f, &e);
        }
      }
    }
    for (const auto& [f, e] : calls) {
      try {
        (*f)(*e);
      } catch (...) {
        // A subscriber's failure must not stop the writer thread.
      }
    }
  }

 private:
  std::mutex mutex_;
  std::uint64_t next_ = 0;
  std::unordered_map<std::string, std::map<std::uint64_t, std::shared_ptr<fn>>> by_account_;
};

class subscription_impl final : public subscription {
 public:
  subscription_impl(std::shared_ptr<watch_registry> r, std::string account, std::uint64_t id)
      : r_(std::move(r)), account_(std::move(account)), id_(id) {}
  ~subscription_impl() override { r_->remove(account_, id_); }

 private:
  std::shared_ptr<watch_registry> r_;
  std::string account_;
  std::uint64_t id_;
};

// Holds a blob pinned for the duration of a call.
class pin_guard {
 public:
  pin_guard(blob::blob_store& b, std::string id) : b_(b), id_(std::move(id)) { b_.pin(id_); }
  ~pin_guard() { b_.unpin(id_); }

 private:
  blob::blob_store& b_;
  std::string id_;
};

// --- the store ---------------------------------------------------------

class sqlite_store final : public store {
 public:
  explicit sqlite_store(const store_options& o)
      : opts_(o),
        history_{o.expunge_history_keep, static_cast<std::int64_t>(o.expunge_history_age.count())},
        blobs_(o.path, o.encryption_key_file.empty() ? std::nullopt : std::optional(blob::load_key(o.encryption_key_file)),
               o.fsync, o.inline_max),
        db_path_(o.path + "/mail.db"),
        watchers_(std::make_shared<watch_registry>()) {
    auto c = std::make_unique<db::connection>(db_path_, false, o.fsync);
    c->exec(schema_sql);
    migrate(*c);
    readers_ = std::make_unique<reader_pool>(db_path_, o.fsync);
    auto w = watchers_;
    writer_ = std::make_unique<writer>(std::move(c), db_path_, o.fsync, [w](const std::vector<change_event>& e) { w->publish(e); });
    writer_->set_idle_task([this](db::connection& conn, writer::load l) { return index_round(conn, l); });
    if (fts_pending_exists()) {
      writer_->request_idle();  // left by the last run
    }
  }

  // Whether any message (of one mailbox) waits for the full-text index.
  bool fts_pending_exists(std::optional<std::int64_t> mailbox = std::nullopt) {
    auto r = read([&](db::connection& c) -> result<bool> {
      auto& s = mailbox ? c.cached("SELECT EXISTS(SELECT 1 FROM fts_pending p WHERE EXISTS(SELECT 1 FROM messages m "
                                   "WHERE m.blob_id = p.blob_id AND m.mailbox_id = ?))")
                        : c.cached("SELECT EXISTS(SELECT 1 FROM fts_pending)");
      db::reset_guard g(s);
      if (mailbox) {
        s.bind(1, *mailbox);
      }
      return s.step() && s.i64(0) != 0;
    });
    return r && *r;
  }

  // --- delivery ---------------------------------------------------------

  result<std::unique_ptr<spool>> begin_spool() override { return blobs_.begin_spool(); }

  std::vector<delivery_outcome> deliver(const std::string& blob, std::span<const delivery_target> targets,
                                        std::int64_t internal_date, parsed_ahead* ahead) override {
    std::vector<delivery_outcome> out(targets.size());
    auto fail_all = [&](error_code ec) {
      for (auto& o : out) {
        o.ec = ec;
      }
      return out;
    };
    if (!blob::valid_id(blob)) {
      return fail_all(err(error::not_found));
    }
    pin_guard pin(blobs_, blob);
    auto prep = prepare_blob(blob, ahead);
    if (!prep) {
      return fail_all(prep.error());
    }
    if (internal_date == 0) {
      internal_date = now();
    }
    std::vector<delivery_target> tg(targets.begin(), targets.end());
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      auto blob_id = ensure_blob(c, blob, *prep);
      if (!blob_id) {
        return blob_id.error();
      }
      for (std::size_t i = 0; i < tg.size(); ++i) {
        c.exec("SAVEPOINT target");
        std::vector<change_event> ev;
        error_code tec;
        try {
          tec = deliver_one(c, tg[i], *blob_id, prep->size, internal_date, true, out[i], ev);
        } catch (const db::sql_error& e) {
          if (sqlite3_get_autocommit(c.handle())) {
            throw;
          }
          tec = sqlite_error(e.code);
        }
        if (tec) {
          c.exec("ROLLBACK TO target");
          out[i] = {};
          out[i].ec = tec;
        } else {
          events.insert(events.end(), ev.begin(), ev.end());
        }
        c.exec("RELEASE target");
      }
      return {};
    });
    if (ec) {
      return fail_all(ec);
    }
    return out;
  }

  result<delivery_outcome> append(const std::string& account, std::string_view mailbox, const std::string& blob,
                                  const flags& f, std::int64_t internal_date, std::uint64_t quota_bytes,
                                  std::uint64_t quota_messages) override {
    const append_item item{blob, f, internal_date};
    auto r = append_many(account, mailbox, std::span<const append_item>(&item, 1), quota_bytes, quota_messages);
    if (!r) {
      return result<delivery_outcome>(boost::system::in_place_error, r.error());
    }
    return r->front();
  }

  result<std::vector<delivery_outcome>> append_many(const std::string& account, std::string_view mailbox,
                                                    std::span<const append_item> items, std::uint64_t quota_bytes,
                                                    std::uint64_t quota_messages) override {
    auto name = names::canonical(mailbox);
    if (!name) {
      return err(error::invalid_name);
    }
    std::vector<std::unique_ptr<pin_guard>> pins;
    std::vector<prepared_blob> preps;
    for (const auto& it : items) {
      if (!blob::valid_id(it.blob)) {
        return err(error::not_found);
      }
      pins.push_back(std::make_unique<pin_guard>(blobs_, it.blob));
      auto prep = prepare_blob(it.blob);
      if (!prep) {
        return prep.error();
      }
      preps.push_back(std::move(*prep));
    }
    delivery_target t;
    t.account = account;
    t.mailbox = *name;
    t.quota_bytes = quota_bytes;
    t.quota_messages = quota_messages;
    std::vector<delivery_outcome> out(items.size());
    const auto at = now();
    // One writer job: its savepoint makes the set all-or-nothing.
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      for (std::size_t i = 0; i < items.size(); ++i) {
        auto blob_id = ensure_blob(c, items[i].blob, preps[i]);
        if (!blob_id) {
          return blob_id.error();
        }
        t.initial = items[i].initial;
        const auto date = items[i].internal_date != 0 ? items[i].internal_date : at;
        if (auto e = deliver_one(c, t, *blob_id, preps[i].size, date, false, out[i], events)) {
          return e;
        }
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    return out;
  }

  // --- mailboxes --------------------------------------------------------

  result<std::vector<mailbox_status>> list_mailboxes(const std::string& account) override {
    if (auto r = ensure_account_exists(account); !r) {
      return r.error();
    }
    return read([&](db::connection& c) -> result<std::vector<mailbox_status>> {
      auto acc = find_account(c, account);
      if (!acc) {
        return err(error::not_found);
      }
      std::set<std::string> subs = subscription_set(c, *acc);
      std::vector<mbox_row> rows;
      auto s = c.prepare("SELECT " MBOX_COLS " FROM mailboxes WHERE account_id = ? ORDER BY name");
      s.bind(1, *acc);
      while (s.step()) {
        rows.push_back(read_mbox(s));
      }
      std::vector<mailbox_status> out;
      out.reserve(rows.size());
      for (std::size_t i = 0; i < rows.size(); ++i) {
        auto st = to_status(rows[i], subs);
        st.recent = recent_count(c, rows[i]);
        // Sorted by name, a child sorts after its parent but other names
        // ("a b" between "a" and "a/b") may come between, so look ahead.
        for (std::size_t j = i + 1; j < rows.size(); ++j) {
          if (names::is_same_or_below(rows[j].name, rows[i].name)) {
            st.has_children = true;
            break;
          }
          if (!rows[j].name.starts_with(rows[i].name)) {
            break;
          }
        }
        out.push_back(std::move(st));
      }
      return out;
    });
  }

  result<mailbox_status> status(const std::string& account, std::string_view mailbox) override {
    auto name = names::canonical(mailbox);
    if (!name) {
      return err(error::invalid_name);
    }
    if (auto r = ensure_account_exists(account); !r) {
      return r.error();
    }
    return read([&](db::connection& c) -> result<mailbox_status> {
      auto acc = find_account(c, account);
      if (!acc) {
        return err(error::not_found);
      }
      auto m = find_mailbox(c, *acc, *name);
      if (!m) {
        return err(error::not_found);
      }
      auto subs = subscription_set(c, *acc);
      auto st = to_status(*m, subs);
      st.recent = recent_count(c, *m);
      auto s = c.prepare("SELECT 1 FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? LIMIT 1");
      s.bind(1, *acc).bind(2, static_cast<std::int64_t>(name->size() + 1)).bind(3, *name + "/");
      st.has_children = s.step();
      return st;
    });
  }

  result<mailbox_status> create_mailbox(const std::string& account, std::string_view mailbox,
                                        special_use use) override {
    auto name = names::canonical(mailbox);
    if (!name) {
      return err(error::invalid_name);
    }
    mailbox_status st;
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      std::int64_t acc = ensure_account(c, account, events);
      if (find_mailbox(c, acc, *name)) {
        return err(error::exists);
      }
      ensure_superiors(c, acc, account, *name, events);
      auto m = insert_mailbox(c, acc, account, *name, use, events);
      st = to_status(m, {});
      return {};
    });
    if (ec) {
      return ec;
    }
    return st;
  }

  result<void> delete_mailbox(const std::string& account, std::string_view mailbox, bool with_children) override {
    auto name = names::canonical(mailbox);
    if (!name) {
      return err(error::invalid_name);
    }
    if (*name == "INBOX") {
      return err(error::not_allowed);  // RFC 9051 §6.3.5
    }
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      auto acc = find_account(c, account);
      if (!acc) {
        return err(error::not_found);
      }
      auto m = find_mailbox(c, *acc, *name);
      if (!m) {
        return err(error::not_found);
      }
      if (with_children) {
        for (auto& child : children_of(c, *acc, *name)) {
          drop_mailbox(c, child, account, events);
        }
      }
      drop_mailbox(c, *m, account, events);
      return {};
    });
    if (ec) {
      return ec;
    }
    return {};
  }

  result<void> rename_mailbox(const std::string& account, std::string_view from_name,
                              std::string_view to_name) override {
    auto from = names::canonical(from_name);
    auto to = names::canonical(to_name);
    if (!from || !to) {
      return err(error::invalid_name);
    }
    if (*to == "INBOX") {
      return err(error::exists);
    }
    if (names::is_same_or_below(*to, *from)) {
      return err(error::not_allowed);
    }
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      std::int64_t acc = ensure_account(c, account, events);
      auto m = find_mailbox(c, acc, *from);
      if (!m) {
        return err(error::not_found);
      }
      if (find_mailbox(c, acc, *to)) {
        return err(error::exists);
      }
      if (*from == "INBOX") {
        return rename_inbox(c, acc, account, *m, *to, events);
      }
      auto kids = children_of(c, acc, *from);
      for (const auto& k : kids) {
        if (find_mailbox(c, acc, *to + k.name.substr(from->size()))) {
          return err(error::exists);
        }
      }
      ensure_superiors(c, acc, account, *to, events);
      auto ren = c.prepare("UPDATE mailboxes SET name = ? WHERE id = ?");
      auto sub = c.prepare("UPDATE OR REPLACE subscriptions SET name = ? WHERE account_id = ? AND name = ?");
      auto move_one = [&](const mbox_row& r, const std::string& new_name) {
        ren.bind(1, new_name).bind(2, r.id);
        ren.run();
        sub.bind(1, new_name).bind(2, acc).bind(3, r.name);
        sub.run();
        events.push_back({change_event::kind::mailbox_renamed, account, r.id, r.highest_modseq});
      };
      move_one(*m, *to);
      for (const auto& k : kids) {
        move_one(k, *to + k.name.substr(from->size()));
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    return {};
  }

  result<void> subscribe(const std::string& account, std::string_view mailbox, bool on) override {
    auto name = names::canonical(mailbox);
    if (!name) {
      return err(error::invalid_name);
    }
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      std::int64_t acc = ensure_account(c, account, events);
      if (on) {
        subscribe_row(c, acc, *name);
      } else {
        auto s = c.prepare("DELETE FROM subscriptions WHERE account_id = ? AND name = ?");
        s.bind(1, acc).bind(2, *name);
        s.run();
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    return {};
  }

  result<std::vector<std::string>> subscriptions(const std::string& account) override {
    if (auto r = ensure_account_exists(account); !r) {
      return r.error();
    }
    return read([&](db::connection& c) -> result<std::vector<std::string>> {
      auto acc = find_account(c, account);
      if (!acc) {
        return err(error::not_found);
      }
      auto s = subscription_set(c, *acc);
      return std::vector<std::string>(s.begin(), s.end());
    });
  }

  // --- messages ---------------------------------------------------------

  result<std::vector<message_entry>> messages(const std::string& account, std::int64_t mailbox_id) override {
    return read([&](db::connection& c) -> result<std::vector<message_entry>> {
      auto m = owned_mailbox(c, account, mailbox_id);
      if (!m) {
        return err(error::not_found);
      }
      std::vector<message_entry> out;
      out.reserve(m->messages);
      auto& s = c.cached("SELECT uid, modseq, flags, keywords, internal_date, size FROM messages "
                         "WHERE mailbox_id = ? ORDER BY uid");
      db::reset_guard g(s);
      s.bind(1, mailbox_id);
      while (s.step()) {
        out.push_back(read_entry(s, 0));
      }
      return out;
    });
  }

  result<std::vector<message_meta>> fetch_meta(const std::string& account, std::int64_t mailbox_id,
                                               std::span<const std::uint32_t> uids) override {
    auto wanted = sorted_unique(uids);
    return read([&](db::connection& c) -> result<std::vector<message_meta>> {
      if (!owned_mailbox(c, account, mailbox_id)) {
        return err(error::not_found);
      }
      std::vector<message_meta> out;
      out.reserve(wanted.size());
      auto& s = c.cached(
          "SELECT m.uid, m.modseq, m.flags, m.keywords, m.internal_date, m.size, b.hash, b.envelope, "
          "b.bodystructure, b.body, b.subject, b.base_subject, b.from_, b.to_, b.cc, b.bcc, b.sort_from, "
          "b.sort_to, b.sort_cc, b.display_from, b.display_to, b.message_id, b.in_reply_to, b.refs, "
          "b.sent_date, b.header_size FROM messages m JOIN blobs b ON b.id = m.blob_id "
          "WHERE m.mailbox_id = ? AND m.uid = ?");
      for (auto uid : wanted) {
        db::reset_guard g(s);
        s.bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(uid));
        if (!s.step()) {
          continue;
        }
        message_meta mm;
        mm.entry = read_entry(s, 0);
        int i = 6;
        for (std::string* v : {&mm.blob, &mm.envelope, &mm.bodystructure, &mm.body, &mm.subject, &mm.base_subject,
                               &mm.from, &mm.to, &mm.cc, &mm.bcc, &mm.sort_from, &mm.sort_to, &mm.sort_cc,
                               &mm.display_from, &mm.display_to, &mm.message_id, &mm.in_reply_to, &mm.references}) {
          *v = s.text(i++);
        }
        mm.sent_date = s.i64(i++);
        mm.header_size = static_cast<std::uint32_t>(s.i64(i++));
        out.push_back(std::move(mm));
      }
      return out;
    });
  }

  // A spool's content not yet committed, then the database, then the file.
  result<std::unique_ptr<blob_reader>> open_blob(const std::string& blob) override {
    if (!blob::valid_id(blob)) {
      return err(error::not_found);
    }
    if (auto p = blobs_.pending(blob)) {
      return blobs_.open_inline(std::move(p));
    }
    auto in_db = read([&](db::connection& c) -> result<std::shared_ptr<const blob::inline_blob>> {
      auto& s = c.cached("SELECT c.encrypted, c.data FROM blobs b JOIN blob_content c ON c.blob_id = b.id "
                         "WHERE b.hash = ?");
      db::reset_guard g(s);
      s.bind(1, blob);
      if (!s.step()) {
        return std::shared_ptr<const blob::inline_blob>();
      }
      auto b = std::make_shared<blob::inline_blob>();
      b->encrypted = s.i64(0) != 0;
      b->data = s.blob(1);
      return std::shared_ptr<const blob::inline_blob>(std::move(b));
    });
    if (!in_db) {
      return in_db.error();
    }
    if (*in_db) {
      return blobs_.open_inline(std::move(*in_db));
    }
    return blobs_.open(blob);
  }

  result<store_result> store_flags(const std::string& account, std::int64_t mailbox_id,
                                   std::span<const std::uint32_t> uids, flag_op op, const flags& f,
                                   std::optional<std::uint64_t> unchanged_since) override {
    auto wanted = sorted_unique(uids);
    flags nf = normalized(f);
    store_result out;
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      out = {};
      auto m = owned_mailbox(c, account, mailbox_id);
      if (!m) {
        return err(error::not_found);
      }
      std::uint64_t modseq = m->highest_modseq + 1;
      auto& sel = c.cached("SELECT uid, modseq, flags, keywords, internal_date, size FROM messages "
                           "WHERE mailbox_id = ? AND uid = ?");
      auto& upd = c.cached("UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?");
      std::int64_t unseen_delta = 0;
      for (auto uid : wanted) {
        message_entry e;
        {
          db::reset_guard g(sel);
          sel.bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(uid));
          if (!sel.step()) {
            continue;
          }
          e = read_entry(sel, 0);
        }
        // RFC 7162 §3.1.3: a message changed after UNCHANGEDSINCE is left
        // alone and reported in MODIFIED.
        if (unchanged_since && e.modseq > *unchanged_since) {
          out.failed.push_back(uid);
          continue;
        }
        flags next = apply_flags(e.flags_, op, nf);
        if (same_flags(next, e.flags_)) {
          continue;
        }
        unseen_delta += static_cast<std::int64_t>(unseen_of(next.system)) - unseen_of(e.flags_.system);
        upd.bind(1, static_cast<std::int64_t>(next.system)).bind(2, join_keywords(next.keywords));
        upd.bind(3, static_cast<std::int64_t>(modseq)).bind(4, mailbox_id).bind(5, static_cast<std::int64_t>(uid));
        upd.run();
        e.flags_ = std::move(next);
        e.modseq = modseq;
        out.changed.push_back(std::move(e));
      }
      if (!out.changed.empty()) {
        auto u = c.prepare("UPDATE mailboxes SET highest_modseq = ?, unseen = unseen + ? WHERE id = ?");
        u.bind(1, static_cast<std::int64_t>(modseq)).bind(2, unseen_delta).bind(3, mailbox_id);
        u.run();
        events.push_back({change_event::kind::flags, account, mailbox_id, modseq});
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    return out;
  }

  result<std::vector<std::uint32_t>> expunge(const std::string& account, std::int64_t mailbox_id,
                                             std::optional<std::span<const std::uint32_t>> only) override {
    std::vector<std::uint32_t> subset;
    if (only) {
      subset = sorted_unique(*only);
    }
    std::vector<std::uint32_t> out;
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      out.clear();
      auto m = owned_mailbox(c, account, mailbox_id);
      if (!m) {
        return err(error::not_found);
      }
      std::vector<removed_message> rows;
      for (const auto& r : all_messages(c, mailbox_id)) {
        if (!(r.flags & flag_deleted)) {
          continue;
        }
        if (only && !std::binary_search(subset.begin(), subset.end(), r.uid)) {
          continue;
        }
        rows.push_back(r);
        out.push_back(r.uid);
      }
      if (rows.empty()) {
        return {};
      }
      std::uint64_t modseq = m->highest_modseq + 1;
      remove_messages(c, *m, rows, modseq, &history_);
      events.push_back({change_event::kind::expunged, account, mailbox_id, modseq});
      return {};
    });
    if (ec) {
      return ec;
    }
    return out;
  }

  result<copy_result> copy(const std::string& account, std::int64_t mailbox_id, std::span<const std::uint32_t> uids,
                           std::string_view dest, bool move, std::uint64_t quota_bytes,
                           std::uint64_t quota_messages) override {
    auto dname = names::canonical(dest);
    if (!dname) {
      return err(error::invalid_name);
    }
    auto wanted = sorted_unique(uids);
    copy_result out;
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      out = {};
      auto src = owned_mailbox(c, account, mailbox_id);
      if (!src) {
        return err(error::not_found);
      }
      auto dst = find_mailbox(c, src->account_id, *dname);
      if (!dst) {
        return err(error::not_found);
      }
      struct row {
        removed_message r;
        std::string keywords;
        std::int64_t internal_date;
      };
      std::vector<row> rows;
      std::uint64_t bytes = 0;
      {
        auto& s = c.cached("SELECT uid, flags, size, blob_id, keywords, internal_date FROM messages "
                           "WHERE mailbox_id = ? AND uid = ?");
        for (auto uid : wanted) {
          db::reset_guard g(s);
          s.bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(uid));
          if (s.step()) {
            rows.push_back({{static_cast<std::uint32_t>(s.i64(0)), static_cast<std::uint32_t>(s.i64(1)),
                             static_cast<std::uint64_t>(s.i64(2)), s.i64(3)},
                            s.text(4), s.i64(5)});
            bytes += rows.back().r.size;
          }
        }
      }
      if (rows.empty()) {
        out.uidvalidity = dst->uidvalidity;
        return {};
      }
      // A move within one account does not change usage.
      if (!move) {
        if (auto q = check_quota(c, src->account_id, bytes, rows.size(), quota_bytes, quota_messages)) {
          return q;
        }
      }
      bool same = dst->id == src->id;
      std::uint64_t dmodseq = dst->highest_modseq + 1;
      for (const auto& r : rows) {
        flags f;
        f.system = r.r.flags;
        f.keywords = split_keywords(r.keywords);
        std::uint32_t uid = insert_message(c, *dst, r.r.blob_id, r.r.size, f, r.internal_date, dmodseq);
        out.source_uids.push_back(r.r.uid);
        out.dest_uids.push_back(uid);
      }
      out.uidvalidity = dst->uidvalidity;
      events.push_back({change_event::kind::appended, account, dst->id, dmodseq});
      if (move) {
        if (same) {
          src = dst;  // counters were updated through dst
        }
        std::vector<removed_message> gone;
        for (const auto& r : rows) {
          gone.push_back(r.r);
        }
        std::uint64_t smodseq = src->highest_modseq + 1;
        remove_messages(c, *src, gone, smodseq, &history_);
        events.push_back({change_event::kind::expunged, account, src->id, smodseq});
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    return out;
  }

  result<changes> changes_since(const std::string& account, std::int64_t mailbox_id, std::uint64_t modseq) override {
    return read([&](db::connection& c) -> result<changes> {
      auto m = owned_mailbox(c, account, mailbox_id);
      if (!m) {
        return err(error::not_found);
      }
      changes out;
      out.highest_modseq = m->highest_modseq;
      out.uidnext = m->uidnext;
      auto s = c.prepare("SELECT uid, modseq, flags, keywords, internal_date, size FROM messages "
                         "WHERE mailbox_id = ? AND modseq > ? ORDER BY uid");
      s.bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(modseq));
      while (s.step()) {
        out.changed.push_back(read_entry(s, 0));
      }
      std::int64_t floor = 0;
      {
        auto& f = c.cached("SELECT expunge_floor FROM mailboxes WHERE id = ?");
        db::reset_guard g(f);
        f.bind(1, mailbox_id);
        if (f.step()) {
          floor = f.i64(0);
        }
      }
      out.expunge_floor = static_cast<std::uint64_t>(floor);
      if (modseq >= out.expunge_floor) {
        auto x = c.prepare("SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid");
        x.bind(1, mailbox_id).bind(2, static_cast<std::int64_t>(modseq));
        while (x.step()) {
          out.expunged.push_back(static_cast<std::uint32_t>(x.i64(0)));
        }
        return out;
      }
      // The history that would answer was trimmed. RFC 7162 §3.2.5.2 lets
      // the server then report every uid the mailbox no longer holds:
      // every uid below uidnext that has no message. The caller keeps the
      // ones the client can know (known-uids, the UID FETCH set, its map).
      out.expunged_exact = false;
      auto x = c.prepare("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid");
      x.bind(1, mailbox_id);
      std::uint32_t next = 1;
      while (x.step()) {
        auto uid = static_cast<std::uint32_t>(x.i64(0));
        for (; next < uid; ++next) {
          out.expunged.push_back(next);
        }
        next = uid + 1;
      }
      for (; next < out.uidnext; ++next) {
        out.expunged.push_back(next);
      }
      return out;
    });
  }

  result<recent_range> claim_recent(const std::string& account, std::int64_t mailbox_id, bool claim) override {
    // Most calls find nothing unclaimed: answer those from a reader and
    // leave the writer (and its fsync) alone.
    auto cur = read([&](db::connection& c) -> result<mbox_row> {
      auto m = owned_mailbox(c, account, mailbox_id);
      if (!m) {
        return err(error::not_found);
      }
      return *m;
    });
    if (!cur) {
      return cur.error();
    }
    recent_range out{std::min(cur->first_recent_uid, cur->uidnext), cur->uidnext};
    if (!claim || out.first == out.end) {
      return out;
    }
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>&) -> error_code {
      auto m = owned_mailbox(c, account, mailbox_id);
      if (!m) {
        return err(error::not_found);
      }
      // On the writer thread: no other claim runs between this read and the
      // update, so each uid is claimed by one session only.
      out = {std::min(m->first_recent_uid, m->uidnext), m->uidnext};
      if (out.first < out.end) {
        auto& u = c.cached("UPDATE mailboxes SET first_recent_uid = ? WHERE id = ?");
        db::reset_guard g(u);
        u.bind(1, static_cast<std::int64_t>(out.end)).bind(2, mailbox_id);
        u.run();
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    return out;
  }

  result<std::vector<std::uint32_t>> search_text(const std::string& account, std::int64_t mailbox_id,
                                                 text_field field, std::string_view query) override {
    auto words = text::query_words(query);
    std::string column;
    switch (field) {
      case text_field::text: break;
      case text_field::body: column = "body"; break;
      case text_field::subject: column = "subject"; break;
      case text_field::from: column = "from_"; break;
      case text_field::to: column = "to_"; break;
      case text_field::cc: column = "cc"; break;
      case text_field::bcc: column = "bcc"; break;
    }
    std::string expr = text::match_expression(words, column);
    if (!expr.empty() && fts_pending_exists(mailbox_id)) {
      // Index what the background has not reached yet in this mailbox, so
      // that a message delivered before the SEARCH is found by it (only this
      // mailbox's: after a restart the whole backlog could be large).
      auto ec = writer_->run([this, mailbox_id](db::connection& c, std::vector<change_event>&) -> error_code {
        index_pending(c, 0, false, mailbox_id);
        return {};
      });
      if (ec) {
        return ec;
      }
    }
    return read([&](db::connection& c) -> result<std::vector<std::uint32_t>> {
      if (!owned_mailbox(c, account, mailbox_id)) {
        return err(error::not_found);
      }
      std::vector<std::uint32_t> out;
      db::statement s;
      if (expr.empty()) {
        // No words: every message matches (IMAP SEARCH TEXT "").
        s = c.prepare("SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid");
        s.bind(1, mailbox_id);
      } else {
        s = c.prepare("SELECT uid FROM messages WHERE mailbox_id = ? AND blob_id IN "
                      "(SELECT rowid FROM fts WHERE fts MATCH ?) ORDER BY uid");
        s.bind(1, mailbox_id).bind(2, expr);
      }
      while (s.step()) {
        out.push_back(static_cast<std::uint32_t>(s.i64(0)));
      }
      return out;
    });
  }

  // --- accounts ---------------------------------------------------------

  result<quota_usage> usage(const std::string& account) override {
    return read([&](db::connection& c) -> result<quota_usage> {
      auto& s = c.cached("SELECT bytes, messages FROM accounts WHERE name = ?");
      db::reset_guard g(s);
      s.bind(1, account);
      quota_usage u;
      if (s.step()) {
        u.bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.i64(0)));
        u.messages = static_cast<std::uint64_t>(std::max<std::int64_t>(0, s.i64(1)));
      }
      return u;
    });
  }

  result<void> delete_account(const std::string& account) override {
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      auto acc = find_account(c, account);
      if (!acc) {
        return err(error::not_found);
      }
      auto s = c.prepare("SELECT " MBOX_COLS " FROM mailboxes WHERE account_id = ?");
      s.bind(1, *acc);
      std::vector<mbox_row> rows;
      while (s.step()) {
        rows.push_back(read_mbox(s));
      }
      for (auto& m : rows) {
        drop_mailbox(c, m, account, events);
      }
      auto d1 = c.prepare("DELETE FROM subscriptions WHERE account_id = ?");
      d1.bind(1, *acc);
      d1.run();
      auto d2 = c.prepare("DELETE FROM accounts WHERE id = ?");
      d2.bind(1, *acc);
      d2.run();
      return {};
    });
    if (ec) {
      return ec;
    }
    return {};
  }

  std::unique_ptr<subscription> watch(const std::string& account,
                                      std::function<void(const change_event&)> fn) override {
    auto id = watchers_->add(account, std::move(fn));
    return std::make_unique<subscription_impl>(watchers_, account, id);
  }

  // --- maintenance ------------------------------------------------------

  result<std::vector<std::string>> accounts() override {
    return read([&](db::connection& c) -> result<std::vector<std::string>> {
      std::vector<std::string> out;
      auto s = c.prepare("SELECT name FROM accounts ORDER BY name");
      while (s.step()) {
        out.push_back(s.text(0));
      }
      return out;
    });
  }

  result<fsck_report> fsck(bool repair, std::chrono::seconds grace) override;
  result<gc_report> collect_garbage(std::chrono::seconds grace) override;

 private:
  struct prepared_blob {
    std::uint64_t size = 0;
    std::optional<mime::parsed> parsed;  // set when the blob had no metadata row yet
  };

  template <class F>
  auto read(F f) -> decltype(f(std::declval<db::connection&>())) {
    using R = decltype(f(std::declval<db::connection&>()));
    try {
      auto lease = readers_->get();
      return f(*lease);
    } catch (const db::sql_error& e) {
      return R(boost::system::in_place_error, sqlite_error(e.code));
    } catch (const std::bad_alloc&) {
      return R(boost::system::in_place_error, err(error::io_error));
    }
  }

  result<void> ensure_account_exists(const std::string& account) {
    auto have = read([&](db::connection& c) -> result<int> { return find_account(c, account).has_value() ? 1 : 0; });
    if (!have) {
      return have.error();
    }
    if (*have) {
      return {};
    }
    error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>& events) -> error_code {
      ensure_account(c, account, events);
      return {};
    });
    if (ec) {
      return ec;
    }
    return {};
  }

  // Parses the message once, outside the write transaction, unless some
  // earlier delivery of the same blob already did, or the caller did it
  // ahead (used only when the sizes agree; the prefix it did not parse adds
  // to the header, and to nothing else: see parse_ahead()).
  result<prepared_blob> prepare_blob(const std::string& blob, parsed_ahead* ahead = nullptr) {
    struct known {
      std::uint64_t size;
      bool inline_content;
    };
    auto row = read([&](db::connection& c) -> result<std::optional<known>> {
      auto& s = c.cached("SELECT size, EXISTS(SELECT 1 FROM blob_content c WHERE c.blob_id = blobs.id) "
                         "FROM blobs WHERE hash = ?");
      db::reset_guard g(s);
      s.bind(1, blob);
      if (s.step()) {
        return std::optional<known>(known{static_cast<std::uint64_t>(s.i64(0)), s.i64(1) != 0});
      }
      return std::optional<known>();
    });
    if (!row) {
      return row.error();
    }
    prepared_blob p;
    if (*row && ((*row)->inline_content || blobs_.exists(blob))) {
      p.size = (*row)->size;
      return p;
    }
    auto reader = open_blob(blob);
    if (!reader) {
      return reader.error();
    }
    p.size = (*reader)->size();
    if (ahead && ahead->parsed && ahead->prefix + ahead->parsed->size == p.size) {
      p.parsed = std::move(ahead->parsed->value);
      ahead->parsed.reset();
      auto& hs = p.parsed->meta.header_size;
      hs = static_cast<std::uint32_t>(std::min<std::uint64_t>(hs + ahead->prefix, 0xFFFFFFFFu));
      return p;
    }
    try {
      p.parsed = mime::parse(**reader);
    } catch (const std::bad_alloc&) {
      return err(error::io_error);
    }
    return p;
  }

  result<std::int64_t> ensure_blob(db::connection& c, const std::string& hash, prepared_blob& p) {
    auto pending = blobs_.pending(hash);
    if (auto id = blob_row(c, hash)) {
      if (pending && !has_inline_content(c, *id) && !blobs_.exists(hash)) {
        // A row whose content was lost (fsck reports it): this delivery
        // brings the content back.
        insert_inline_content(c, *id, *pending);
      }
      return *id;
    }
    if (!p.parsed) {
      // Removed by garbage collection after prepare_blob looked: impossible
      // while pinned, but never insert a row without metadata.
      return err(error::busy);
    }
    auto id = insert_blob_row(c, hash, p.size, *p.parsed);
    if (pending) {
      insert_inline_content(c, id, *pending);
    }
    keep_for_index(id, texts_of(hash, *p.parsed));
    return id;
  }

  // --- the full-text index, written after the delivery's commit ---------
  //
  // A new blob's row comes with an fts_pending row; the texts to index wait
  // in fts_cache_. Between group commits the writer indexes them in
  // transactions of their own (a crash before one commits loses nothing:
  // its fts_pending rows are still there, and are indexed again from the
  // stored messages at the next start). A search drains what is pending
  // first, so it never misses a delivered message. These commits sync like
  // any other: left unsynced, their pages were flushed by the next
  // delivery's fsync instead, in the path of its 250.
  // fts_cache_ is touched on the writer thread only.

  static constexpr std::size_t fts_cache_max = 64u << 20;  // octets of text; beyond, re-read from the blob
  static constexpr std::size_t fts_round = 128;             // blobs per background transaction
  // While jobs keep coming, the writer indexes once this many blobs, or this
  // much text, wait. Small messages are batched: their index commit (an
  // fsync) costs more than their text. A large message's tokenizing costs
  // more than its commit, and it is indexed at once, between two deliveries.
  // With jobs already queued, the index waits for a larger backlog.
  static constexpr std::int64_t fts_backlog = 16;
  static constexpr std::size_t fts_backlog_text = 64u << 10;
  static constexpr std::int64_t fts_backlog_waiting = 64;

  void keep_for_index(std::int64_t id, fts_texts t) {
    take_cached(id, t.hash);  // left by a rolled-back job that had the same rowid
    if (fts_cache_bytes_ + t.bytes() <= fts_cache_max) {
      fts_cache_bytes_ += t.bytes();
      fts_cache_.emplace(id, std::move(t));
    }
    writer_->request_idle();
  }

  std::optional<fts_texts> take_cached(std::int64_t id, const std::string& hash) {
    auto it = fts_cache_.find(id);
    if (it == fts_cache_.end()) {
      return std::nullopt;
    }
    fts_texts t = std::move(it->second);
    fts_cache_bytes_ -= t.bytes();
    fts_cache_.erase(it);
    if (t.hash != hash) {
      return std::nullopt;
    }
    return t;
  }

  // Indexes up to `limit` pending blobs (0: all), or only those of one
  // mailbox's messages; returns whether more wait. `committed_only`: every
  // pending row is committed, so a blob that cannot be read is indexed empty
  // rather than left pending forever; a drain inside a group commit may
  // meet a blob of the same batch, which only the cache can supply, and
  // leaves it for the background.
  bool index_pending(db::connection& c, std::size_t limit, bool committed_only,
                     std::optional<std::int64_t> mailbox = std::nullopt) {
    auto& s = mailbox ? c.cached("SELECT p.blob_id, b.hash FROM fts_pending p LEFT JOIN blobs b ON b.id = p.blob_id "
                                 "WHERE EXISTS(SELECT 1 FROM messages m WHERE m.blob_id = p.blob_id AND "
                                 "m.mailbox_id = ?) ORDER BY p.blob_id LIMIT ?")
                      : c.cached("SELECT p.blob_id, b.hash FROM fts_pending p LEFT JOIN blobs b ON b.id = p.blob_id "
                                 "ORDER BY p.blob_id LIMIT ?");
    std::vector<std::pair<std::int64_t, std::optional<std::string>>> rows;
    {
      db::reset_guard g(s);
      int i = 1;
      if (mailbox) {
        s.bind(i++, *mailbox);
      }
      s.bind(i, limit == 0 ? std::int64_t{-1} : static_cast<std::int64_t>(limit + 1));
      while (s.step()) {
        rows.emplace_back(s.i64(0), s.is_null(1) ? std::nullopt : std::optional<std::string>(s.text(1)));
      }
    }
    const bool more = limit != 0 && rows.size() > limit;
    if (more) {
      rows.pop_back();
    }
    for (auto& [id, hash] : rows) {
      if (!hash) {  // the blob is gone
        auto& d = c.cached("DELETE FROM fts_pending WHERE blob_id = ?");
        d.bind(1, id);
        d.run();
        continue;
      }
      auto t = take_cached(id, *hash);
      if (!t) {
        t = reread_texts(*hash);
      }
      if (!t && !committed_only) {
        continue;
      }
      insert_fts_row(c, id, t ? *t : fts_texts{*hash, {}, {}, {}, {}, {}, {}});
    }
    return more;
  }

  // The texts of a stored message, parsed again (after a restart).
  std::optional<fts_texts> reread_texts(const std::string& hash) {
    auto reader = open_blob(hash);
    if (!reader) {
      return std::nullopt;
    }
    try {
      auto parsed = mime::parse(**reader);
      return texts_of(hash, parsed);
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }

  // The writer's idle task: one background transaction.
  bool index_round(db::connection& c, writer::load l) {
    const bool text_enough = l == writer::load::between && fts_cache_bytes_ >= fts_backlog_text;
    if (l != writer::load::quiet && !text_enough) {
      const auto wanted = l == writer::load::waiting ? fts_backlog_waiting : fts_backlog;
      auto& n = c.cached("SELECT count(*) FROM (SELECT 1 FROM fts_pending LIMIT ?)");
      db::reset_guard g(n);
      n.bind(1, wanted);
      if (!n.step() || n.i64(0) < wanted) {
        return true;  // later: after a quiet moment, or once the backlog has grown
      }
    }
    c.exec("BEGIN IMMEDIATE");
    const bool more = index_pending(c, fts_round, true);
    c.exec("COMMIT");  // on failure, the writer rolls back
    if (!more) {
      // Every pending blob was indexed, and between batches every job has
      // committed or rolled back: what is left in the cache came from jobs
      // rolled back after they kept their texts.
      fts_cache_.clear();
      fts_cache_bytes_ = 0;
    }
    return more;
  }

  static bool has_inline_content(db::connection& c, std::int64_t blob_id) {
    auto& s = c.cached("SELECT 1 FROM blob_content WHERE blob_id = ?");
    db::reset_guard g(s);
    s.bind(1, blob_id);
    return s.step();
  }

  static void insert_inline_content(db::connection& c, std::int64_t blob_id, const blob::inline_blob& b) {
    auto& s = c.cached("INSERT INTO blob_content(blob_id, encrypted, data) VALUES(?, ?, ?)");
    db::reset_guard g(s);
    s.bind(1, blob_id).bind(2, std::int64_t{b.encrypted ? 1 : 0}).bind_blob(3, b.data);
    s.step();
  }

  error_code deliver_one(db::connection& c, const delivery_target& t, std::int64_t blob_id, std::uint64_t size,
                         std::int64_t internal_date, bool create, delivery_outcome& out,
                         std::vector<change_event>& events) {
    auto name = names::canonical(t.mailbox);
    if (!name) {
      return err(error::invalid_name);
    }
    if (t.account.empty()) {
      return err(error::not_found);
    }
    std::int64_t acc = ensure_account(c, t.account, events);
    auto m = find_mailbox(c, acc, *name);
    if (!m) {
      if (!create) {
        return err(error::not_found);
      }
      ensure_superiors(c, acc, t.account, *name, events);
      m = insert_mailbox(c, acc, t.account, *name, name->find('/') == std::string::npos ? default_use(*name)
                                                                                        : special_use::none,
                         events);
    }
    if (auto q = check_quota(c, acc, size, 1, t.quota_bytes, t.quota_messages)) {
      return q;
    }
    std::uint64_t modseq = m->highest_modseq + 1;
    std::uint32_t uid = insert_message(c, *m, blob_id, size, normalized(t.initial), internal_date, modseq);
    out.ec = {};
    out.mailbox_id = m->id;
    out.uidvalidity = m->uidvalidity;
    out.uid = uid;
    events.push_back({change_event::kind::appended, t.account, m->id, modseq});
    return {};
  }

  error_code rename_inbox(db::connection& c, std::int64_t acc, const std::string& account, mbox_row& inbox,
                          const std::string& to, std::vector<change_event>& events) {
    // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox
    // and leaves INBOX, empty, in place; INBOX's children are not moved.
    ensure_superiors(c, acc, account, to, events);
    auto dst = insert_mailbox(c, acc, account, to, special_use::none, events);
    auto s = c.prepare("SELECT uid, flags, size, blob_id, keywords, internal_date FROM messages "
                       "WHERE mailbox_id = ? ORDER BY uid");
    s.bind(1, inbox.id);
    std::vector<removed_message> gone;
    std::uint64_t dmodseq = dst.highest_modseq + 1;
    std::vector<std::tuple<removed_message, std::string, std::int64_t>> rows;
    while (s.step()) {
      rows.emplace_back(removed_message{static_cast<std::uint32_t>(s.i64(0)), static_cast<std::uint32_t>(s.i64(1)),
                                        static_cast<std::uint64_t>(s.i64(2)), s.i64(3)},
                        s.text(4), s.i64(5));
    }
    for (const auto& [r, kw, date] : rows) {
      flags f;
      f.system = r.flags;
      f.keywords = split_keywords(kw);
      insert_message(c, dst, r.blob_id, r.size, f, date, dmodseq);
      gone.push_back(r);
    }
    if (!gone.empty()) {
      std::uint64_t smodseq = inbox.highest_modseq + 1;
      remove_messages(c, inbox, gone, smodseq, &history_);
      events.push_back({change_event::kind::expunged, account, inbox.id, smodseq});
      events.push_back({change_event::kind::appended, account, dst.id, dmodseq});
    }
    return {};
  }

  std::vector<mbox_row> children_of(db::connection& c, std::int64_t acc, const std::string& name) {
    std::vector<mbox_row> out;
    auto s = c.prepare("SELECT " MBOX_COLS " FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? "
                       "ORDER BY name");
    s.bind(1, acc).bind(2, static_cast<std::int64_t>(name.size() + 1)).bind(3, name + "/");
    while (s.step()) {
      out.push_back(read_mbox(s));
    }
    return out;
  }

  static std::set<std::string> subscription_set(db::connection& c, std::int64_t acc) {
    std::set<std::string> out;
    auto s = c.prepare("SELECT name FROM subscriptions WHERE account_id = ?");
    s.bind(1, acc);
    while (s.step()) {
      out.insert(s.text(0));
    }
    return out;
  }

  static mailbox_status to_status(const mbox_row& r, const std::set<std::string>& subs) {
    mailbox_status st;
    st.id = r.id;
    st.name = r.name;
    st.use = static_cast<special_use>(r.special);
    st.subscribed = subs.count(r.name) != 0;
    st.uidvalidity = r.uidvalidity;
    st.uidnext = r.uidnext;
    st.messages = r.messages;
    st.unseen = r.unseen;
    st.recent = 0;  // recent_count() fills it in: it needs a query
    st.highest_modseq = r.highest_modseq;
    st.size = r.size;
    return st;
  }

  // Messages no session has claimed as \Recent yet (STATUS RECENT).
  static std::uint32_t recent_count(db::connection& c, const mbox_row& r) {
    if (r.first_recent_uid >= r.uidnext) {
      return 0;
    }
    auto& s = c.cached("SELECT count(*) FROM messages WHERE mailbox_id = ? AND uid >= ?");
    db::reset_guard g(s);
    s.bind(1, r.id).bind(2, static_cast<std::int64_t>(r.first_recent_uid));
    return s.step() ? static_cast<std::uint32_t>(s.i64(0)) : 0;
  }

  static message_entry read_entry(const db::statement& s, int base) {
    message_entry e;
    e.uid = static_cast<std::uint32_t>(s.i64(base));
    e.modseq = static_cast<std::uint64_t>(s.i64(base + 1));
    e.flags_ = read_flags(s, base + 2, base + 3);
    e.internal_date = s.i64(base + 4);
    e.size = static_cast<std::uint64_t>(s.i64(base + 5));
    return e;
  }

  friend class maintenance;

  store_options opts_;
  history_policy history_;
  blob::blob_store blobs_;
  std::string db_path_;
  std::shared_ptr<watch_registry> watchers_;
  std::unique_ptr<reader_pool> readers_;
  std::unordered_map<std::int64_t, fts_texts> fts_cache_;  // writer thread only; before writer_, which uses it
  std::size_t fts_cache_bytes_ = 0;
  std::unique_ptr<writer> writer_;
};

// --- maintenance: fsck and garbage collection ---------------------------

result<gc_report> sqlite_store::collect_garbage(std::chrono::seconds grace) {
  gc_report rep;
  std::int64_t cutoff = now() - grace.count();
  // 1. Blob rows nobody references: row, content, index entries and file go
  //    together, on the writer thread so no delivery can reference them
  //    meanwhile. A blob's index entries are deleted with the texts they
  //    were made from, parsed again from the message before it goes; that
  //    parsing happens before each chunk's writer job, so deliveries do not
  //    wait for it.
  struct candidate {
    std::int64_t id = 0;
    std::string hash;
    std::int64_t size = 0;
    bool pending = false;  // not indexed yet when listed
    std::optional<fts_texts> texts;
  };
  auto listed = read([&](db::connection& c) -> result<std::vector<candidate>> {
    auto s = c.prepare("SELECT b.id, b.hash, b.size, EXISTS(SELECT 1 FROM fts_pending p WHERE p.blob_id = b.id) "
                       "FROM blobs b WHERE b.refcount <= 0 ORDER BY b.id");
    std::vector<candidate> out;
    while (s.step()) {
      out.push_back(candidate{s.i64(0), s.text(1), s.i64(2), s.i64(3) != 0, std::nullopt});
    }
    return out;
  });
  if (!listed) {
    return listed.error();
  }
  constexpr std::size_t chunk = 64;  // blobs per writer job: bounds the texts held and the writer's pause
  error_code ec;
  for (std::size_t at = 0; at < listed->size(); at += chunk) {
    std::span<candidate> part(listed->data() + at, std::min(chunk, listed->size() - at));
    for (auto& k : part) {
      if (!k.pending) {
        k.texts = reread_texts(k.hash);
      }
    }
    ec = writer_->run([&](db::connection& c, std::vector<change_event>&) -> error_code {
      auto& row = c.cached("SELECT hash, refcount, EXISTS(SELECT 1 FROM fts_pending p WHERE p.blob_id = blobs.id) "
                           "FROM blobs WHERE id = ?");
      auto& del = c.cached("DELETE FROM blobs WHERE id = ?");
      auto& del_pending = c.cached("DELETE FROM fts_pending WHERE blob_id = ?");
      auto& del_content = c.cached("DELETE FROM blob_content WHERE blob_id = ?");
      std::int64_t highest = 0;
      for (auto& k : part) {
        bool indexed = false;
        {
          db::reset_guard g(row);
          row.bind(1, k.id);
          if (!row.step() || row.text(0) != k.hash || row.i64(1) > 0) {
            continue;  // referenced again since it was listed
          }
          indexed = row.i64(2) == 0;
        }
        if (indexed && !k.texts) {
          k.texts = reread_texts(k.hash);  // indexed since it was listed
        }
        if (!blobs_.remove_unless_pinned(k.hash)) {
          continue;
        }
        if (indexed) {
          if (k.texts) {
            delete_fts_row(c, k.id, *k.texts);
          } else {
            ++rep.index_entries_left;  // the message could not be read
          }
        }
        for (auto* d : {&del, &del_pending, &del_content}) {
          d->bind(1, k.id);
          d->run();
        }
        take_cached(k.id, k.hash);
        highest = std::max(highest, k.id);
        ++rep.blobs_removed;
        rep.bytes_freed += static_cast<std::uint64_t>(k.size);
      }
      if (highest > 0) {
        auto& f = c.cached("INSERT INTO settings(key, value) VALUES('blob_id_floor', ?) "
                           "ON CONFLICT(key) DO UPDATE SET value = max(value, excluded.value)");
        f.bind(1, highest);
        f.run();
      }
      return {};
    });
    if (ec) {
      return ec;
    }
    for (auto& k : part) {
      k.texts.reset();
    }
  }
  // 2. Files without a row: written by a spool whose delivery never
  //    committed (crash, 4xx). Only old ones: a young one may be about to be
  //    delivered by a spool that was already closed.
  std::vector<std::string> candidates;
  blobs_.for_each_blob([&](const std::string& id, const std::string&, std::int64_t mtime) {
    if (!id.empty() && mtime < cutoff) {
      candidates.push_back(id);
    }
  });
  if (!candidates.empty()) {
    ec = writer_->run([&](db::connection& c, std::vector<change_event>&) -> error_code {
      for (const auto& id : candidates) {
        if (blob_row(c, id)) {
          continue;
        }
        auto sz = blobs_.size_of(id);
        if (blobs_.remove_unless_pinned(id)) {
          ++rep.blobs_removed;
          rep.bytes_freed += sz ? *sz : 0;
        }
      }
      return {};
    });
    if (ec) {
      return ec;
    }
  }
  // 3. Temporary files a crash left in tmp/.
  blobs_.for_each_temp([&](const std::string& path, std::int64_t mtime) {
    if (mtime < cutoff && ::unlink(path.c_str()) == 0) {
      ++rep.temp_removed;
    }
  });
  return rep;
}

result<fsck_report> sqlite_store::fsck(bool repair, std::chrono::seconds grace) {
  fsck_report rep;
  error_code ec = writer_->run([&](db::connection& c, std::vector<change_event>&) -> error_code {
    {
      auto s = c.prepare("PRAGMA integrity_check");
      while (s.step()) {
        auto line = s.text(0);
        if (line != "ok") {
          rep.problems.push_back("sqlite: " + line);
        }
      }
    }
    try {
      c.exec("INSERT INTO fts(fts) VALUES('integrity-check')");
    } catch (const db::sql_error& e) {
      rep.problems.push_back(std::string("fts index: ") + e.what());
      if (repair) {
        // A contentless index cannot rebuild itself: it is emptied, and every
        // message indexed again in the background from the stored messages.
        c.exec("INSERT INTO fts(fts) VALUES('delete-all')");
        c.exec("INSERT OR IGNORE INTO fts_pending(blob_id) SELECT id FROM blobs");
        writer_->request_idle();
        rep.repaired.push_back("fts index emptied; every message is being indexed again");
      }
    }
    auto check = [&](const char* what, const char* find_sql, const char* fix_sql) {
      auto s = c.prepare(find_sql);
      int n = 0;
      while (s.step()) {
        if (n++ < 20) {
          rep.problems.push_back(std::string(what) + ": " + s.text(0));
        }
      }
      if (n > 20) {
        rep.problems.push_back(std::string(what) + ": " + std::to_string(n - 20) + " more");
      }
      if (n > 0 && repair && fix_sql) {
        c.exec(fix_sql);
        rep.repaired.push_back(std::string(what) + ": " + std::to_string(n) + " fixed");
      }
    };
    check("blob refcount",
          "SELECT b.hash || ' refcount ' || b.refcount || ' references ' || "
          "(SELECT count(*) FROM messages m WHERE m.blob_id = b.id) FROM blobs b "
          "WHERE b.refcount != (SELECT count(*) FROM messages m WHERE m.blob_id = b.id)",
          "UPDATE blobs SET refcount = (SELECT count(*) FROM messages m WHERE m.blob_id = blobs.id)");
    check("stored content without blob row",
          "SELECT blob_id FROM blob_content c WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = c.blob_id)",
          "DELETE FROM blob_content WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = blob_content.blob_id)");
    check("message without blob row",
          "SELECT mailbox_id || ':' || uid FROM messages m WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = m.blob_id)",
          nullptr);
    check("message without mailbox",
          "SELECT mailbox_id || ':' || uid FROM messages m WHERE NOT EXISTS "
          "(SELECT 1 FROM mailboxes x WHERE x.id = m.mailbox_id)",
          "DELETE FROM messages WHERE NOT EXISTS (SELECT 1 FROM mailboxes x WHERE x.id = messages.mailbox_id)");
    check("mailbox counters",
          "SELECT x.id || ' ' || x.name FROM mailboxes x LEFT JOIN (SELECT mailbox_id, count(*) n, "
          "sum((flags & 1) = 0) u, sum(size) s, max(uid) mu, max(modseq) mm FROM messages GROUP BY mailbox_id) t "
          "ON t.mailbox_id = x.id WHERE x.messages != coalesce(t.n, 0) OR x.unseen != coalesce(t.u, 0) "
          "OR x.size != coalesce(t.s, 0) OR x.uidnext <= coalesce(t.mu, 0) OR x.highest_modseq < coalesce(t.mm, 0)",
          "UPDATE mailboxes SET messages = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id), "
          "unseen = (SELECT count(*) FROM messages m WHERE m.mailbox_id = mailboxes.id AND (m.flags & 1) = 0), "
          "size = (SELECT coalesce(sum(size), 0) FROM messages m WHERE m.mailbox_id = mailboxes.id), "
          "uidnext = max(uidnext, (SELECT coalesce(max(uid), 0) + 1 FROM messages m WHERE m.mailbox_id = mailboxes.id)), "
          "highest_modseq = max(highest_modseq, (SELECT coalesce(max(modseq), 0) FROM messages m "
          "WHERE m.mailbox_id = mailboxes.id))");
    check("account counters",
          "SELECT a.name FROM accounts a LEFT JOIN (SELECT x.account_id, count(*) n, sum(m.size) s FROM messages m "
          "JOIN mailboxes x ON x.id = m.mailbox_id GROUP BY x.account_id) t ON t.account_id = a.id "
          "WHERE a.messages != coalesce(t.n, 0) OR a.bytes != coalesce(t.s, 0)",
          "UPDATE accounts SET messages = (SELECT count(*) FROM messages m JOIN mailboxes x ON x.id = m.mailbox_id "
          "WHERE x.account_id = accounts.id), bytes = (SELECT coalesce(sum(m.size), 0) FROM messages m "
          "JOIN mailboxes x ON x.id = m.mailbox_id WHERE x.account_id = accounts.id)");
    {
      auto s = c.prepare("SELECT count(*) FROM blobs WHERE refcount <= 0");
      if (s.step() && s.i64(0) > 0) {
        rep.garbage.push_back(std::to_string(s.i64(0)) + " unreferenced blob rows");
      }
    }
    return {};
  });
  if (ec) {
    return ec;
  }
  // Referenced blobs whose file is missing: lost data, reported, never
  // "repaired" by dropping the message (an operator may restore the file).
  auto missing = read([&](db::connection& c) -> result<std::vector<std::string>> {
    std::vector<std::string> out;
    auto s = c.prepare("SELECT hash FROM blobs b WHERE refcount > 0 AND NOT EXISTS "
                       "(SELECT 1 FROM blob_content c WHERE c.blob_id = b.id)");
    while (s.step()) {
      auto h = s.text(0);
      if (!blobs_.exists(h)) {
        out.push_back(h);
      }
    }
    return out;
  });
  if (!missing) {
    return missing.error();
  }
  for (const auto& h : *missing) {
    rep.problems.push_back("blob missing (no file, no stored content): " + h);
  }
  std::int64_t cutoff = now() - grace.count();
  std::uint64_t orphans = 0;
  std::uint64_t young = 0;
  auto known = read([&](db::connection& c) -> result<std::set<std::string>> {
    std::set<std::string> out;
    auto s = c.prepare("SELECT hash FROM blobs");
    while (s.step()) {
      out.insert(s.text(0));
    }
    return out;
  });
  if (!known) {
    return known.error();
  }
  blobs_.for_each_blob([&](const std::string& id, const std::string& path, std::int64_t mtime) {
    if (id.empty()) {
      rep.problems.push_back("stray file in blobs/: " + path);
      return;
    }
    if (!known->count(id)) {
      (mtime < cutoff ? orphans : young) += 1;
    }
  });
  std::uint64_t temps = 0;
  blobs_.for_each_temp([&](const std::string&, std::int64_t) { ++temps; });
  if (orphans + young > 0) {
    rep.garbage.push_back(std::to_string(orphans + young) + " blob files without a row (" + std::to_string(young) +
                          " younger than the grace period)");
  }
  if (temps > 0) {
    rep.garbage.push_back(std::to_string(temps) + " temporary files");
  }
  if (repair) {
    auto g = collect_garbage(grace);
    if (!g) {
      return g.error();
    }
    rep.repaired.push_back("garbage: " + std::to_string(g->blobs_removed) + " blobs, " +
                           std::to_string(g->temp_removed) + " temporary files removed");
  }
  return rep;
}

}  // namespace

store_options store_options_from(const common::config& cfg) {
  store_options o;
  o.path = cfg.storage.path.empty() ? cfg.server.data_dir + "/mail" : cfg.storage.path;
  o.encryption_key_file = cfg.storage.encryption_key_file;
  o.fsync = cfg.storage.fsync;
  o.expunge_history_keep = cfg.storage.expunge_history_keep;
  o.expunge_history_age = std::chrono::hours(24) * cfg.storage.expunge_history_days;
  o.inline_max = static_cast<std::size_t>(cfg.storage.inline_max);
  return o;
}

std::unique_ptr<store> open_store(const store_options& opts) {
  if (opts.path.empty()) {
    throw std::runtime_error("storage: no path configured");
  }
  try {
    return std::make_unique<sqlite_store>(opts);
  } catch (const db::sql_error& e) {
    throw std::runtime_error("storage: " + opts.path + ": " + e.what());
  }
}

}  // namespace homthu::storage
