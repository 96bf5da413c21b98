#pragma once
// Mail address helpers shared by every module. Addresses are compared in
// their canonical form: the domain lowercased (ASCII), the local part
// lowercased too: homthu's own local parts are ASCII and case-insensitive by
// policy (RFC 5321 §2.4 allows the receiving host to decide).

#include <optional>
#include <string>
#include <string_view>

namespace homthu::common {

struct address_parts {
  std::string local;
  std::string domain;
};

// Splits at the last '@'. nullopt when there is no '@', either side is empty,
// the local part exceeds 64 octets or the domain 255 (RFC 5321 §4.5.3.1), or
// the address contains control characters, spaces or angle brackets.
std::optional<address_parts> split_address(std::string_view address);
// Lowercased "local@domain"; nullopt as for split_address.
std::optional<std::string> canonical_address(std::string_view address);
std::string to_lower_ascii(std::string_view s);

}  // namespace homthu::common
