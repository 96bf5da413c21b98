#pragma once
// Response building blocks (RFC 9051 §7, §9): strings are sent as an atom,
// a quoted string or a literal, whichever can carry them; mailbox names in
// modified UTF-7 unless UTF8=ACCEPT is enabled. Sans I/O: appends to a string.

#include <cstdint>
#include <string>
#include <string_view>

namespace homthu::imap::proto {

// quoted if every byte may appear in a quoted string, else a literal.
// Quoted strings may carry 8-bit bytes only when `utf8` (RFC 6855 §3).
void append_string(std::string& out, std::string_view s, bool utf8 = false);
// An atom when it is a plain atom (and not "NIL"), else append_string.
void append_astring(std::string& out, std::string_view s, bool utf8 = false);
// NIL for an absent value.
void append_nstring(std::string& out, const std::string* s, bool utf8 = false);
// Mailbox name (UTF-8 in storage) as the client expects it.
void append_mailbox(std::string& out, std::string_view utf8_name, bool utf8_enabled);
// Client's mailbox name → UTF-8 storage name; nullopt-like empty + false on
// invalid modified UTF-7 or invalid UTF-8.
bool decode_mailbox(std::string_view wire, bool utf8_enabled, std::string& out);
// IMAP date-time "dd-Mon-yyyy hh:mm:ss +zzzz" (UTC) for a unix time.
std::string format_date_time(std::int64_t unix_seconds);
// Parses date-time (RFC 9051 §9) into unix seconds.
bool parse_date_time(std::string_view s, std::int64_t& out);
// Parses date ("1-Feb-2024") into the unix time of its midnight UTC.
bool parse_date(std::string_view s, std::int64_t& out);

}  // namespace homthu::imap::proto
