#pragma once
// Modified UTF-7 mailbox names (RFC 3501 §5.1.3), the form used on the wire
// unless the client enabled UTF8=ACCEPT (RFC 6855). Storage keeps UTF-8.

#include <optional>
#include <string>
#include <string_view>

namespace homthu::imap::proto {

// UTF-8 → modified UTF-7. Invalid UTF-8 input yields nullopt.
std::optional<std::string> utf8_to_mutf7(std::string_view utf8);
// Modified UTF-7 → UTF-8; nullopt on anything RFC 3501 §5.1.3 forbids
// (bad base64, printable ASCII encoded, unpaired surrogates, "&" unescaped,
// non-zero padding bits).
std::optional<std::string> mutf7_to_utf8(std::string_view mutf7);
// Strict UTF-8 validation (no overlongs, no surrogates, ≤ U+10FFFF).
bool valid_utf8(std::string_view s);

}  // namespace homthu::imap::proto
