// Filter and DN escaping (RFC 4515, RFC 4514). Trusts nothing about its
// input: any byte sequence, including NUL and invalid UTF-8, yields a string
// that a conforming server parses as one literal value.
#include "homthu/directory/ldap_escape.hpp"

namespace homthu::directory {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

void append_hex(std::string& out, unsigned char c) {
  out += '\\';
  out += hex_digits[c >> 4];
  out += hex_digits[c & 0x0f];
}

}  // namespace

std::string escape_filter_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (unsigned char c : value) {
    // RFC 4515 §3 requires escaping of NUL, '(', ')', '*' and '\'. Escaping
    // every non-printable and non-ASCII byte too keeps the filter ASCII, so
    // invalid UTF-8 cannot confuse the encoder or the server's parser.
    if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f) {
      append_hex(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string escape_dn_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 8);
  for (std::size_t i = 0; i < value.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    bool first = i == 0;
    bool last = i + 1 == value.size();
    if (c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\' ||
        c == '=' || (first && (c == '#' || c == ' ')) || (last && c == ' ')) {
      // RFC 4514 §2.4: these may be escaped as '\' followed by the character.
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      append_hex(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    if (c < 0x80) {
      n = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if ((c >> 4) == 0xe) {
      n = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
        return false;
      }
    }
    i += n + 1;
  }
  return true;
}

bool is_valid_id(std::string_view value) {
  if (value.empty() || value.size() > 64) {
    return false;
  }
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(value.front())) {
    return false;
  }
  for (char c : value) {
    if (!alnum(c) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace homthu::directory
