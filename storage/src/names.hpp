#pragma once
// Mailbox names as the store keeps them: UTF-8, '/' as the hierarchy
// separator, INBOX case-insensitive at the top level (RFC 9051 §5.1).

#include <optional>
#include <string>
#include <string_view>

namespace homthu::storage::names {

// The canonical form of a valid name ("inbox/x" → "INBOX/x"), or nullopt
// when the name is refused (see storage/README.md, "Mailbox names").
std::optional<std::string> canonical(std::string_view name);

// True when `name` is `parent` or lies below it.
bool is_same_or_below(std::string_view name, std::string_view parent);

}  // namespace homthu::storage::names
