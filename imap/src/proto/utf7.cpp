// Modified UTF-7 (RFC 3501 §5.1.3). Input is untrusted: every malformed
// sequence is refused rather than repaired, so one mailbox has one name.
#include "homthu/imap/proto/utf7.hpp"

#include <cstdint>
#include <vector>

namespace homthu::imap::proto {

namespace {

constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

int b64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == ',') return 63;
  return -1;
}

// Decodes one code point; returns false on invalid UTF-8.
bool next_code_point(std::string_view s, std::size_t& i, std::uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  int len = 0;
  if (c < 0x80) {
    cp = c;
    len = 1;
  } else if ((c & 0xe0) == 0xc0) {
    cp = c & 0x1f;
    len = 2;
  } else if ((c & 0xf0) == 0xe0) {
    cp = c & 0x0f;
    len = 3;
  } else if ((c & 0xf8) == 0xf0) {
    cp = c & 0x07;
    len = 4;
  } else {
    return false;
  }
  if (i + static_cast<std::size_t>(len) > s.size()) {
    return false;
  }
  for (int k = 1; k < len; ++k) {
    auto d = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
    if ((d & 0xc0) != 0x80) {
      return false;
    }
    cp = (cp << 6) | (d & 0x3f);
  }
  static constexpr std::uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min_for_len[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
    return false;
  }
  i += static_cast<std::size_t>(len);
  return true;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

void flush_utf16(std::string& out, const std::vector<std::uint16_t>& units) {
  std::uint32_t bits = 0;
  int nbits = 0;
  for (auto u : units) {
    bits = (bits << 16) | u;
    nbits += 16;
    while (nbits >= 6) {
      out.push_back(b64[(bits >> (nbits - 6)) & 0x3f]);
      nbits -= 6;
    }
    bits &= (1u << nbits) - 1;
  }
  if (nbits > 0) {
    out.push_back(b64[(bits << (6 - nbits)) & 0x3f]);
  }
}

}  // namespace

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  std::uint32_t cp = 0;
  while (i < s.size()) {
    if (!next_code_point(s, i, cp)) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> utf8_to_mutf7(std::string_view utf8) {
  std::string out;
  std::vector<std::uint16_t> units;
  std::size_t i = 0;
  while (i < utf8.size()) {
    std::uint32_t cp = 0;
    if (!next_code_point(utf8, i, cp)) {
      return std::nullopt;
    }
    if (cp >= 0x20 && cp <= 0x7e) {
      if (!units.empty()) {
        out.push_back('&');
        flush_utf16(out, units);
        out.push_back('-');
        units.clear();
      }
      out += cp == '&' ? "&-" : std::string(1, static_cast<char>(cp));
      continue;
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push_back(static_cast<std::uint16_t>(0xd800 + (cp >> 10)));
      units.push_back(static_cast<std::uint16_t>(0xdc00 + (cp & 0x3ff)));
    } else {
      units.push_back(static_cast<std::uint16_t>(cp));
    }
  }
  if (!units.empty()) {
    out.push_back('&');
    flush_utf16(out, units);
    out.push_back('-');
  }
  return out;
}

std::optional<std::string> mutf7_to_utf8(std::string_view in) {
  std::string out;
  std::size_t i = 0;
  while (i < in.size()) {
    char c = in[i];
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e) {
      return std::nullopt;
    }
    if (c != '&') {
      out.push_back(c);
      ++i;
      continue;
    }
    ++i;
    if (i < in.size() && in[i] == '-') {
      out.push_back('&');
      ++i;
      continue;
    }
    std::uint32_t bits = 0;
    int nbits = 0;
    std::vector<std::uint16_t> units;
    bool closed = false;
    while (i < in.size()) {
      if (in[i] == '-') {
        closed = true;
        ++i;
        break;
      }
      int v = b64_value(in[i]);
      if (v < 0) {
        return std::nullopt;
      }
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
      nbits += 6;
      if (nbits >= 16) {
        units.push_back(static_cast<std::uint16_t>((bits >> (nbits - 16)) & 0xffff));
        nbits -= 16;
        bits &= (1u << nbits) - 1;
      }
      ++i;
    }
    // Leftover bits must be fewer than 6 and zero (RFC 2152), and the run
    // must not be empty ("&-" is the only empty form).
    if (!closed || units.empty() || nbits >= 6 || bits != 0) {
      return std::nullopt;
    }
    for (std::size_t k = 0; k < units.size(); ++k) {
      std::uint32_t cp = units[k];
      if (cp >= 0xd800 && cp <= 0xdbff) {
        if (k + 1 >= units.size() || units[k + 1] < 0xdc00 || units[k + 1] > 0xdfff) {
          return std::nullopt;
        }
        cp = 0x10000 + ((cp - 0xd800) << 10) + (units[k + 1] - 0xdc00);
        ++k;
      } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return std::nullopt;
      } else if (cp >= 0x20 && cp <= 0x7e) {
        // Printable ASCII must be represented as itself.
        return std::nullopt;
      }
      append_utf8(out, cp);
    }
  }
  return out;
}

}  // namespace homthu::imap::proto
