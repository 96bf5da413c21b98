#pragma once
// Pieces of RFC 5322 / RFC 2045 / RFC 5256 and IMAP response syntax used to
// describe a message once at delivery. Pure functions over untrusted header
// text: no I/O, no allocation beyond their output, linear time.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace homthu::storage::mime {

// IMAP string (RFC 9051 §4.3): quoted when it is printable ASCII without
// CR/LF, a literal {n}\r\n... otherwise. NUL (never allowed) becomes a space.
std::string imap_string(std::string_view s);
// imap_string, or NIL when absent.
std::string imap_nstring(const std::optional<std::string>& s);

// One address of an ENVELOPE (RFC 9051 §7.5.2); a group start has only
// `mailbox` (the group name), a group end has nothing.
struct envelope_address {
  std::optional<std::string> name, adl, mailbox, host;
};
// Parses an address-list header value as written (encoded words stay
// encoded, as ENVELOPE requires). Tolerant: whatever cannot be parsed is
// skipped. At most `max_addresses` are returned (S15: 100k tokens).
std::vector<envelope_address> parse_address_list(std::string_view value, std::size_t max_addresses = 1000);
// "((name adl mailbox host)...)" or NIL when empty.
std::string imap_address_list(const std::vector<envelope_address>& list);

struct content_field {
  std::string value;                                      // "text/plain", "attachment", lower-cased
  std::vector<std::pair<std::string, std::string>> params; // as written (quotes removed)
};
// Content-Type / Content-Disposition: value; param=value... (RFC 2045 §5.1,
// RFC 2183). Parameters beyond 100 are dropped (S16: 10⁴ RFC 2231 params).
content_field parse_content_field(std::string_view value);
std::optional<std::string> param(const content_field& f, std::string_view name);

// Unfolds a header value: CRLF/LF followed by WSP become the WSP; leading and
// trailing whitespace trimmed; NUL and bare CR become spaces.
std::string unfold(std::string_view raw);

// RFC 5256 §2.1 base subject of an already decoded (UTF-8) subject.
std::string base_subject(std::string_view subject);

// Visible text of an HTML document: tags dropped, script/style skipped,
// common entities decoded, whitespace runs collapsed.
std::string html_to_text(std::string_view html);

}  // namespace homthu::storage::mime
