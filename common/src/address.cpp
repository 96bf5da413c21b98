#include "homthu/common/address.hpp"

namespace homthu::common {

std::string to_lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::optional<address_parts> split_address(std::string_view address) {
  auto at = address.rfind('@');
  if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
    return std::nullopt;
  }
  auto local = address.substr(0, at);
  auto domain = address.substr(at + 1);
  // RFC 5321 §4.5.3.1.1 and §4.5.3.1.2.
  if (local.size() > 64 || domain.size() > 255) {
    return std::nullopt;
  }
  for (unsigned char c : address) {
    if (c < 0x21 || c == 0x7f || c == '<' || c == '>') {
      return std::nullopt;
    }
  }
  return address_parts{std::string(local), to_lower_ascii(domain)};
}

std::optional<std::string> canonical_address(std::string_view address) {
  auto parts = split_address(address);
  if (!parts) {
    return std::nullopt;
  }
  return to_lower_ascii(parts->local) + "@" + parts->domain;
}

}  // namespace homthu::common
