#pragma once
// What accounts have: mailboxes, messages, flags, MODSEQ, quotas, full-text
// search, and the change feed IDLE listens to. Thread-safe; every call may
// block on SQLite or fsync, so protocol code calls it through
// common::worker_pool::run, never on an I/O thread.
//
// Accounts are named by directory::account::id (an opaque ASCII key); storage
// never talks to the directory.
//
// Durability contract (DESIGN.md): deliver() and append() return success only
// after the blob is fsync'd, its directory entry fsync'd, and the metadata
// committed with synchronous=FULL (a small blob kept inside the database is
// committed in that same transaction). Concurrent calls share commits (group
// commit).

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::common {
struct config;
}

namespace homthu::storage {

enum class error {
  not_found = 1,       // mailbox / message / account data absent
  exists,              // mailbox already exists
  invalid_name,        // mailbox name refused (see storage/README.md)
  over_quota,          // account storage or message-count quota reached
  too_big,             // message larger than allowed
  disk_full,           // ENOSPC: temporary
  io_error,            // EIO and other I/O failures: temporary
  busy,                // SQLITE_BUSY beyond the retry budget: temporary
  corrupt,             // checksum / integrity failure
  modified,            // CONDSTORE UNCHANGEDSINCE failed (per message)
  not_allowed,         // e.g. delete INBOX, rename onto a child of itself
};
const boost::system::error_category& category();
inline boost::system::error_code make_error_code(error e) { return {static_cast<int>(e), category()}; }
// True for errors a client should retry (disk_full, io_error, busy).
bool is_temporary(const boost::system::error_code& ec);

template <class T>
using result = boost::system::result<T>;

// System flags as bits; keywords as strings (case-insensitive, stored as given).
enum flag : std::uint32_t {
  flag_seen = 1u << 0,
  flag_answered = 1u << 1,
  flag_flagged = 1u << 2,
  flag_deleted = 1u << 3,
  flag_draft = 1u << 4,
};

struct flags {
  std::uint32_t system = 0;
  std::vector<std::string> keywords;
  friend bool operator==(const flags&, const flags&) = default;
};

enum class special_use { none, sent, drafts, trash, junk, archive };

struct mailbox_status {
  std::int64_t id = 0;
  std::string name;                    // full hierarchical name, '/' separated, UTF-8
  special_use use = special_use::none;
  bool subscribed = false;
  bool has_children = false;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uidnext = 1;
  std::uint32_t messages = 0;
  std::uint32_t unseen = 0;
  std::uint32_t recent = 0;
  std::uint64_t highest_modseq = 0;
  std::uint64_t size = 0;              // sum of message sizes (STATUS=SIZE)
};

// One message in a mailbox: what SELECT needs.
struct message_entry {
  std::uint32_t uid = 0;
  std::uint64_t modseq = 0;
  flags flags_;
  std::int64_t internal_date = 0;      // unix seconds
  std::uint64_t size = 0;              // RFC822.SIZE (octets as stored, CRLF line ends)
};

// What FETCH needs beyond message_entry, computed once at delivery.
struct message_meta {
  message_entry entry;
  std::string blob;                    // blob id, for open_blob()
  std::string envelope;                // IMAP ENVELOPE, already in IMAP syntax: "(...)"
  std::string bodystructure;           // IMAP BODYSTRUCTURE (extensible form)
  std::string body;                    // IMAP BODY (non-extensible form)
  // Decoded fields for SEARCH/SORT (RFC 5256): UTF-8.
  std::string subject;                 // decoded Subject
  std::string base_subject;            // RFC 5256 §2.1 base subject
  std::string from, to, cc, bcc;       // decoded address lists as text
  std::string sort_from, sort_to, sort_cc;  // RFC 5256 mailbox of first address
  std::string display_from, display_to;     // RFC 5957 display names
  std::string message_id, in_reply_to, references;
  std::int64_t sent_date = 0;          // Date: header, unix seconds (0 if absent/bad)
  std::uint32_t header_size = 0;       // octets of the header block incl. blank line
};

// Streaming reader over a stored message (decrypting if encrypted at rest).
class blob_reader {
 public:
  virtual ~blob_reader() = default;
  virtual std::uint64_t size() const = 0;
  // Reads up to buf.size() bytes at the current position; 0 at end.
  virtual result<std::size_t> read(std::span<char> buf) = 0;
  virtual result<void> seek(std::uint64_t offset) = 0;
};

// An incoming message being written (SMTP DATA, IMAP APPEND). Chunks are
// written as they arrive; the whole message is never held in memory.
// Destroying an unfinished spool removes its temporary file.
class spool {
 public:
  virtual ~spool() = default;
  virtual result<void> write(std::string_view chunk) = 0;
  virtual std::uint64_t size() const = 0;
  // Makes the blob durable (fsync file and directory) and returns its id.
  // The blob is held (not garbage) until every deliver()/append() with it
  // has returned, or the spool is destroyed. Deliver before destroying the
  // spool: content within store_options::inline_max has no file, and lives
  // only in the spool until a delivery commits it to the database.
  virtual result<std::string> finish() = 0;
};

struct delivery_target {
  std::string account;                 // directory account id
  std::string mailbox = "INBOX";       // created when absent (special-use mailboxes too)
  flags initial;
  std::uint64_t quota_bytes = 0;       // 0: unlimited (from the directory)
  std::uint64_t quota_messages = 0;
};

struct delivery_outcome {
  boost::system::error_code ec;        // per target: over_quota, disk_full, …
  std::int64_t mailbox_id = 0;
  std::uint32_t uidvalidity = 0;
  std::uint32_t uid = 0;
};

enum class flag_op { replace, add, remove };

struct store_result {
  std::vector<message_entry> changed;  // new flags and modseq of messages changed
  std::vector<std::uint32_t> failed;   // UNCHANGEDSINCE failures (RFC 7162 MODIFIED)
};

struct copy_result {
  std::uint32_t uidvalidity = 0;       // of the destination
  std::vector<std::uint32_t> source_uids;
  std::vector<std::uint32_t> dest_uids;  // same order as source_uids (COPYUID)
};

// Everything changed in a mailbox since a MODSEQ: the IMAP session uses it
// to turn change events into untagged responses, and QRESYNC uses it.
struct changes {
  std::vector<message_entry> changed;  // new or with flags changed, uid order
  // uids expunged since (VANISHED). When the MODSEQ asked about is below
  // expunge_floor the history that would answer was trimmed, and this lists
  // instead every uid below uidnext that the mailbox no longer holds
  // (RFC 7162 §3.2.5.2): a superset, which VANISHED (EARLIER) may carry.
  std::vector<std::uint32_t> expunged;
  bool expunged_exact = true;          // false: the superset above
  std::uint64_t expunge_floor = 0;     // lowest MODSEQ whose expunges are still listed exactly
  std::uint64_t highest_modseq = 0;
  std::uint32_t uidnext = 0;
};

// \Recent (RFC 3501 §2.3.2): the uids [first, end) of a mailbox.
struct recent_range {
  std::uint32_t first = 0;
  std::uint32_t end = 0;
};

struct quota_usage {
  std::uint64_t bytes = 0;
  std::uint64_t messages = 0;
};

// Full-text search fields (RFC 9051 §6.4.4 keys served by the FTS index).
enum class text_field { text, body, subject, from, to, cc, bcc };

struct change_event {
  enum class kind { appended, flags, expunged, mailbox_created, mailbox_renamed, mailbox_deleted };
  kind type;
  std::string account;
  std::int64_t mailbox_id = 0;
  std::uint64_t modseq = 0;
};

// What `homthuctl fsck` reports. Problems are inconsistencies (wrong
// counters or reference counts, missing blobs, SQLite integrity errors);
// garbage is what a crash or an abandoned spool leaves behind and is safe to
// remove (unreferenced blobs, temporary files).
struct fsck_report {
  std::vector<std::string> problems;
  std::vector<std::string> garbage;
  std::vector<std::string> repaired;   // what --repair fixed
  bool clean() const { return problems.empty(); }
};

struct gc_report {
  std::uint64_t blobs_removed = 0;
  std::uint64_t temp_removed = 0;
  std::uint64_t bytes_freed = 0;
  // Removed blobs whose full-text entries stayed behind because the message
  // could not be read again (they never match: ids are not reused).
  std::uint64_t index_entries_left = 0;
};

// Keeps a change-feed subscription alive; unsubscribes on destruction.
class subscription {
 public:
  virtual ~subscription() = default;
};

// The parse deliver() makes of a new message (ENVELOPE, BODYSTRUCTURE,
// search fields and text), made ahead of deliver() by a caller that holds
// the message in memory and has time to spare: SMTP parses a message while
// its SPF, DKIM and DMARC checks run. Opaque; see parse_ahead().
class parsed_message;
struct parsed_message_delete {
  void operator()(parsed_message* p) const;
};
using parsed_message_ptr = std::unique_ptr<parsed_message, parsed_message_delete>;

struct parsed_ahead {
  parsed_message_ptr parsed;  // null: deliver() parses the blob itself
  std::uint64_t prefix = 0;   // octets stored before the content parsed
};

// Parses `content`: the message as it will be stored, less a prefix made of
// whole header fields that the parse does not read (the trace fields
// Return-Path, Received and Authentication-Results), whose length goes in
// parsed_ahead::prefix. deliver() uses the result only for a blob of
// exactly prefix + content.size() octets. Blocking (CPU); thread-safe.
parsed_message_ptr parse_ahead(std::string_view content);

class store {
 public:
  virtual ~store() = default;

  // --- delivery (SMTP) and APPEND ---------------------------------------
  virtual result<std::unique_ptr<spool>> begin_spool() = 0;
  // Parses the blob once (envelope, bodystructure, search text), or takes
  // the parse `ahead` made, and adds one entry per target, all sharing the
  // blob. Durable on return. Outcomes are per target, in order.
  virtual std::vector<delivery_outcome> deliver(const std::string& blob,
                                                std::span<const delivery_target> targets,
                                                std::int64_t internal_date, parsed_ahead* ahead = nullptr) = 0;
  // IMAP APPEND into an existing mailbox (not_found makes TRYCREATE).
  virtual result<delivery_outcome> append(const std::string& account, std::string_view mailbox,
                                          const std::string& blob, const flags& f,
                                          std::int64_t internal_date, std::uint64_t quota_bytes,
                                          std::uint64_t quota_messages) = 0;
  // MULTIAPPEND (RFC 3502 §6.3.11): every message in one transaction, so
  // that either all are appended, with consecutive UIDs, or none is (the
  // quota counts them together). One outcome per item, in order.
  struct append_item {
    std::string blob;
    flags initial;
    std::int64_t internal_date = 0;   // 0: now
  };
  virtual result<std::vector<delivery_outcome>> append_many(const std::string& account, std::string_view mailbox,
                                                            std::span<const append_item> items,
                                                            std::uint64_t quota_bytes,
                                                            std::uint64_t quota_messages) = 0;

  // --- mailboxes ---------------------------------------------------------
  // Creates INBOX and the special-use mailboxes on first use of an account.
  virtual result<std::vector<mailbox_status>> list_mailboxes(const std::string& account) = 0;
  virtual result<mailbox_status> status(const std::string& account, std::string_view mailbox) = 0;
  virtual result<mailbox_status> create_mailbox(const std::string& account, std::string_view name,
                                                special_use use = special_use::none) = 0;
  // Deletes the mailbox and its messages; children stay (RFC 9051 §6.3.5)
  // unless `with_children`.
  virtual result<void> delete_mailbox(const std::string& account, std::string_view name,
                                      bool with_children = false) = 0;
  // Renames the mailbox and its children. Renaming INBOX moves its messages
  // to the new mailbox and leaves INBOX empty (RFC 9051 §6.3.6).
  virtual result<void> rename_mailbox(const std::string& account, std::string_view from,
                                      std::string_view to) = 0;
  virtual result<void> subscribe(const std::string& account, std::string_view name, bool on) = 0;
  virtual result<std::vector<std::string>> subscriptions(const std::string& account) = 0;

  // --- messages ----------------------------------------------------------
  // Every message of the mailbox in uid order (SELECT).
  virtual result<std::vector<message_entry>> messages(const std::string& account,
                                                      std::int64_t mailbox_id) = 0;
  // Metadata for the given uids (missing ones are skipped), uid order.
  virtual result<std::vector<message_meta>> fetch_meta(const std::string& account,
                                                       std::int64_t mailbox_id,
                                                       std::span<const std::uint32_t> uids) = 0;
  virtual result<std::unique_ptr<blob_reader>> open_blob(const std::string& blob) = 0;
  virtual result<store_result> store_flags(const std::string& account, std::int64_t mailbox_id,
                                           std::span<const std::uint32_t> uids, flag_op op,
                                           const flags& f,
                                           std::optional<std::uint64_t> unchanged_since) = 0;
  // Removes messages flagged \Deleted; when `only` is given, only those uids
  // (UID EXPUNGE). Returns the uids removed, ascending.
  virtual result<std::vector<std::uint32_t>> expunge(
      const std::string& account, std::int64_t mailbox_id,
      std::optional<std::span<const std::uint32_t>> only) = 0;
  // COPY / MOVE (RFC 6851: move is atomic). not_found on a missing destination.
  virtual result<copy_result> copy(const std::string& account, std::int64_t mailbox_id,
                                   std::span<const std::uint32_t> uids, std::string_view dest,
                                   bool move, std::uint64_t quota_bytes,
                                   std::uint64_t quota_messages) = 0;
  virtual result<changes> changes_since(const std::string& account, std::int64_t mailbox_id,
                                        std::uint64_t modseq) = 0;
  // \Recent (RFC 3501 §2.3.2): the uids no session has claimed yet, i.e.
  // [first recent uid, uidnext). With `claim` (a read-write SELECT, or new
  // mail seen by such a session) they become the caller's: atomically, so
  // exactly one session gets each message; later calls return them to
  // nobody else. Without (EXAMINE) nothing changes. Expunged uids may fall
  // in the range. The default (test doubles) has nothing recent.
  virtual result<recent_range> claim_recent(const std::string& account, std::int64_t mailbox_id, bool claim) {
    (void)account;
    (void)mailbox_id;
    (void)claim;
    return recent_range{};
  }
  // uids whose indexed text matches every word of `query` (diacritics and
  // case ignored), ascending.
  virtual result<std::vector<std::uint32_t>> search_text(const std::string& account,
                                                         std::int64_t mailbox_id, text_field field,
                                                         std::string_view query) = 0;

  // --- accounts ----------------------------------------------------------
  virtual result<quota_usage> usage(const std::string& account) = 0;
  virtual result<void> delete_account(const std::string& account) = 0;

  // --- change feed -------------------------------------------------------
  // fn runs on a storage thread after the change is committed; it must be
  // quick and must not call back into the store (post to your own executor).
  // A session is told within 100 ms of the commit.
  virtual std::unique_ptr<subscription> watch(const std::string& account,
                                              std::function<void(const change_event&)> fn) = 0;

  // --- maintenance (homthuctl; added after the first contract) ----------
  // Defaults exist so that test doubles of store need not implement them.
  // Account ids holding any data, sorted.
  virtual result<std::vector<std::string>> accounts() { return make_error_code(error::not_allowed); }
  // Checks blob references, counters and database integrity; with `repair`,
  // fixes counters and reference counts and removes garbage older than
  // `grace` (files younger may belong to a delivery in progress).
  virtual result<fsck_report> fsck(bool repair, std::chrono::seconds grace = std::chrono::hours(1)) {
    (void)repair;
    (void)grace;
    return make_error_code(error::not_allowed);
  }
  // Removes blobs no message references and leftover temporary files older
  // than `grace`. Never removes a referenced or pinned blob.
  virtual result<gc_report> collect_garbage(std::chrono::seconds grace = std::chrono::hours(1)) {
    (void)grace;
    return make_error_code(error::not_allowed);
  }
};

struct store_options {
  std::string path;                    // root directory: blobs/, accounts/, global.db
  std::string encryption_key_file;     // empty: plain blobs
  bool fsync = true;
  // Expunged-uid history for QRESYNC, per mailbox: an entry is dropped once
  // it is both older than `expunge_history_age` and not among the newest
  // `expunge_history_keep` (storage/README.md, "Expunge history").
  std::uint64_t expunge_history_keep = 100;
  std::chrono::seconds expunge_history_age = std::chrono::hours(24 * 30);
  // Messages up to this many octets are stored inside mail.db, committed
  // with their rows (one WAL fsync), instead of as blob files (file, its
  // directory, then the WAL). 0: always files. homthud passes
  // [storage] inline_max (storage/README.md, "Small messages inside the
  // database"). Reading finds either form whatever this is set to.
  std::size_t inline_max = 0;
};

// The options homthud and homthuctl open the store with: [storage] keys,
// path defaulting to <data_dir>/mail.
store_options store_options_from(const common::config& cfg);

// Opens (creating when absent) the store. Throws std::runtime_error naming
// the path on failure at start-up.
std::unique_ptr<store> open_store(const store_options& opts);

}  // namespace homthu::storage

template <>
struct boost::system::is_error_code_enum<homthu::storage::error> : std::true_type {};
