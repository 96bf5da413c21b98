#pragma once
// Arguments of every IMAP command, parsed from a lexer positioned just after
// the command name (and its SP). One parser per command, in
// imap/src/proto/args/<command>.cpp. Sans I/O; on a syntax error a parser
// returns nullopt and lex.error() says why (the session sends it in BAD).
// Mailbox names are returned as sent; the session decodes them (mUTF-7 or
// UTF-8 depending on ENABLE UTF8=ACCEPT).

#include "homthu/imap/proto/lexer.hpp"
#include "homthu/imap/proto/seqset.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace homthu::imap::proto {

struct login_args {
  std::string user;
  std::string password;
};
std::optional<login_args> parse_login(lexer& lex);

struct authenticate_args {
  std::string mechanism;                // uppercased
  std::optional<std::string> initial;   // SASL-IR (RFC 4959); "=" is an empty response
};
std::optional<authenticate_args> parse_authenticate(lexer& lex);

// CREATE / DELETE / SUBSCRIBE / UNSUBSCRIBE / GETQUOTAROOT / GETQUOTA: one astring.
std::optional<std::string> parse_mailbox_only(lexer& lex);

struct create_args {
  std::string mailbox;
  std::vector<std::string> use;         // RFC 6154 §3: (USE (\Sent))
};
std::optional<create_args> parse_create(lexer& lex);

struct rename_args {
  std::string from;
  std::string to;
};
std::optional<rename_args> parse_rename(lexer& lex);

struct qresync_params {
  std::uint32_t uidvalidity = 0;
  std::uint64_t modseq = 0;
  std::optional<seqset> known_uids;
  std::optional<seqset> match_seqs;
  std::optional<seqset> match_uids;
};

struct select_args {
  std::string mailbox;
  bool condstore = false;
  std::optional<qresync_params> qresync;
};
std::optional<select_args> parse_select(lexer& lex);

struct list_args {
  bool lsub = false;
  bool extended = false;                // any RFC 5258 syntax used
  bool select_subscribed = false;
  bool select_recursive = false;
  bool select_special_use = false;
  std::string reference;
  std::vector<std::string> patterns;
  bool return_subscribed = false;
  bool return_children = false;
  bool return_special_use = false;
  std::vector<std::string> return_status; // RFC 5819 STATUS items, uppercased
};
std::optional<list_args> parse_list(lexer& lex, bool lsub);

struct status_args {
  std::string mailbox;
  std::vector<std::string> items;       // uppercased, validated
};
std::optional<status_args> parse_status(lexer& lex);
// STATUS item names (RFC 9051 §6.3.11, RFC 7162, RFC 8438).
bool valid_status_item(const std::string& upper_name);

// APPEND: the mailbox, then for each message an optional flag list, an
// optional date-time, and the literal (RFC 3502 MULTIAPPEND repeats the last
// three). The literal itself never reaches the lexer: it is streamed.
std::optional<std::string> parse_append_mailbox(lexer& lex);
struct append_message {
  std::vector<std::string> flags;
  std::optional<std::int64_t> internal_date;
};
// Parses "[flags SP] [date-time SP]" and requires the literal announcement
// to follow.
std::optional<append_message> parse_append_message(lexer& lex);

struct fetch_section {
  enum class text { none, header, header_fields, header_fields_not, text, mime };
  std::vector<std::uint32_t> part;      // "1.2.3"
  text kind = text::none;
  std::vector<std::string> fields;      // uppercased
  std::string spec;                     // canonical text between the brackets
};

struct fetch_att {
  enum class kind {
    flags, internaldate, rfc822_size, envelope, bodystructure, body_nonext, body_section,
    binary, binary_size, uid, modseq, rfc822, rfc822_header, rfc822_text,
  };
  kind k = kind::flags;
  bool peek = false;
  fetch_section section;
  std::optional<std::pair<std::uint32_t, std::uint32_t>> partial;  // <offset.count>
};

struct fetch_args {
  seqset set;
  std::vector<fetch_att> atts;
  std::optional<std::uint64_t> changed_since;  // RFC 7162 §3.1.4.1
  bool vanished = false;                       // RFC 7162 §3.2.6
};
std::optional<fetch_args> parse_fetch(lexer& lex);

struct store_args {
  enum class op { replace, add, remove };
  seqset set;
  std::optional<std::uint64_t> unchanged_since;  // RFC 7162 §3.1.3
  op mode = op::replace;
  bool silent = false;
  std::vector<std::string> flags;
};
std::optional<store_args> parse_store(lexer& lex);

// COPY / MOVE (RFC 6851)
struct copy_args {
  seqset set;
  std::string mailbox;
};
std::optional<copy_args> parse_copy(lexer& lex);

// UID EXPUNGE (RFC 4315 §2.1)
std::optional<seqset> parse_uid_expunge(lexer& lex);

struct search_key {
  enum class kind {
    all, and_, or_, not_, seqset, uid, answered, deleted, draft, flagged, seen, recent, new_, old,
    unanswered, undeleted, undraft, unflagged, unseen, keyword, unkeyword, before, on, since,
    sentbefore, senton, sentsince, larger, smaller, bcc, body, cc, from, subject, text, to, header,
    modseq, older, younger,
  };
  kind k = kind::all;
  std::string field;                    // HEADER field name
  std::string value;                    // string argument / keyword
  std::int64_t date = 0;                // midnight UTC of a date key
  std::uint64_t number = 0;             // LARGER/SMALLER/MODSEQ/OLDER/YOUNGER
  proto::seqset set;
  std::vector<search_key> children;     // and_ / or_ (2) / not_ (1)
};

struct search_args {
  bool esearch = false;                 // RETURN (...) given (RFC 4731)
  std::vector<std::string> returns;     // MIN MAX ALL COUNT SAVE, uppercased
  std::string charset;                  // uppercased; empty when absent
  search_key root;                      // kind::and_
};
std::optional<search_args> parse_search(lexer& lex);
// The search-key list alone (SORT and THREAD use it after their own prefix).
std::optional<search_key> parse_search_keys(lexer& lex);

struct sort_criterion {
  enum class key { arrival, cc, date, from, size, subject, to, display_from, display_to };
  key k = key::arrival;
  bool reverse = false;
};
struct sort_args {
  std::vector<sort_criterion> criteria;
  std::string charset;
  search_key root;
};
std::optional<sort_args> parse_sort(lexer& lex);

struct thread_args {
  std::string algorithm;                // uppercased
  std::string charset;
  search_key root;
};
std::optional<thread_args> parse_thread(lexer& lex);

std::optional<std::vector<std::string>> parse_enable(lexer& lex);

// ID (RFC 2971): NIL or a list of field/value pairs.
std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> parse_id(lexer& lex);

}  // namespace homthu::imap::proto
