// Fuzzes the escaping of untrusted values put into LDAP filters (RFC 4515
// §3) and DNs (RFC 4514 §2.4), the only way such values reach libldap
// (RELIABILITY.md L1). Each escaped value is decoded again by an independent
// reader here: it must give back the input exactly, and it must hold no
// character that could end the value, add a wildcard or add a clause.

#include "fuzz_util.hpp"
#include "imap_syntax.hpp"

#include "homthu/directory/ldap_escape.hpp"

#include <optional>
#include <string>

namespace {

namespace dir = homthu::directory;
using homthu::fuzz::check;

int hex(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

// RFC 4515 §3: valueencoding; '\' is always followed by two hex digits.
std::optional<std::string> unescape_filter(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '*' || c == '(' || c == ')' || c == 0 || c < 0x20 || c > 0x7e) {
      return std::nullopt;  // must have been escaped (the result is pure ASCII)
    }
    if (c == '\\') {
      if (i + 2 >= s.size()) {
        return std::nullopt;
      }
      int h = hex(s[i + 1]), l = hex(s[i + 2]);
      if (h < 0 || l < 0) {
        return std::nullopt;
      }
      out += static_cast<char>(h * 16 + l);
      i += 2;
      continue;
    }
    out += static_cast<char>(c);
  }
  return out;
}

// RFC 4514 §3 (string production): escapes are '\' + special or '\' hexpair.
std::optional<std::string> unescape_dn(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool first = i == 0;
    const bool last = i + 1 == s.size();
    if (c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '=' || c == 0 ||
        (c < 0x20) || c == 0x7f || (first && (c == '#' || c == ' ')) || (last && c == ' ')) {
      return std::nullopt;
    }
    if (c == '\\') {
      if (i + 1 >= s.size()) {
        return std::nullopt;
      }
      const char n = s[i + 1];
      if (i + 2 < s.size() && hex(n) >= 0 && hex(s[i + 2]) >= 0) {
        out += static_cast<char>(hex(n) * 16 + hex(s[i + 2]));
        i += 2;
        continue;
      }
      if (std::string_view("\"+,;<>=\\# ").find(n) == std::string_view::npos) {
        return std::nullopt;
      }
      out += n;
      ++i;
      continue;
    }
    out += static_cast<char>(c);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const auto f = dir::escape_filter_value(in);
  const auto fu = unescape_filter(f);
  check(fu.has_value(), "filter escape left a special or non-ASCII byte, or a bad escape");
  check(*fu == in, "filter escape does not decode back to the value");

  const auto d = dir::escape_dn_value(in);
  const auto du = unescape_dn(d);
  check(du.has_value(), "DN escape left a special character unescaped");
  check(*du == in, "DN escape does not decode back to the value");

  if (dir::is_valid_id(in)) {
    check(!in.empty() && in.size() <= 64, "id length");
    for (char c : in) {
      check((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-', "id charset");
    }
    check(in[0] != '.' && in[0] != '_' && in[0] != '-', "id first character");
  }
  if (homthu::fuzz::valid_utf8(in)) {
    check(dir::is_valid_utf8(in), "valid UTF-8 refused");
  }
  return 0;
}
