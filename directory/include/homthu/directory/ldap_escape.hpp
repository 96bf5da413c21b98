#pragma once
// Escaping of untrusted values placed into LDAP filters and DNs. Every
// value that reaches a filter string or a DN string in homthu goes through
// one of these; nothing is concatenated raw.

#include <string>
#include <string_view>

namespace homthu::directory {

// RFC 4515 §3: a value inside a filter assertion. '*', '(', ')', '\' and NUL
// become \2a \28 \29 \5c \00; so does every byte outside printable ASCII, so
// the result is pure ASCII whatever the input (invalid UTF-8 included). The
// value then matches literally; it can never add a wildcard or a clause.
std::string escape_filter_value(std::string_view value);

// RFC 4514 §2.4: an attribute value inside a DN. Escapes '"', '+', ',', ';',
// '<', '>', '\', '=', a leading '#' or space, a trailing space, and NUL and
// other control bytes as \hh. UTF-8 passes through (RFC 4514 allows it).
std::string escape_dn_value(std::string_view value);

// Whether `value` is acceptable as an ASCII identifier (uid, unit id):
// 1-64 characters of [a-z0-9._-], starting with a letter or digit.
bool is_valid_id(std::string_view value);

// Well-formed UTF-8 (no overlong 2-byte forms, no bytes above U+10FFFF lead).
bool is_valid_utf8(std::string_view s);

}  // namespace homthu::directory
