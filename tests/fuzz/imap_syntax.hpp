#pragma once
// A strict reader of the IMAP response values homthu stores and sends
// (RFC 9051 §9: nil, number, quoted, literal, parenthesised lists): used by
// fuzz targets to check that ENVELOPE and BODYSTRUCTURE strings built from
// hostile messages are still well-formed for every client.

#include <cstddef>
#include <string_view>

namespace homthu::fuzz {

class imap_value_checker {
 public:
  explicit imap_value_checker(std::string_view s) : s_(s) {}

  // True when the whole text is exactly one value.
  bool one_value() {
    if (!value(0)) {
      return false;
    }
    return pos_ == s_.size();
  }

 private:
  bool value(int depth) {
    if (depth > 1000 || pos_ >= s_.size()) {
      return false;
    }
    const char c = s_[pos_];
    if (c == '(') {
      ++pos_;
      bool first = true;
      while (pos_ < s_.size() && s_[pos_] != ')') {
        if (!first) {
          // Values are separated by one SP, except that address lists
          // (RFC 9051 §9: "(" 1*address ")") put lists side by side.
          if (s_[pos_] == ' ') {
            ++pos_;
          } else if (!(s_[pos_] == '(' && s_[pos_ - 1] == ')')) {
            return false;
          }
        }
        if (!value(depth + 1)) {
          return false;
        }
        first = false;
      }
      if (pos_ >= s_.size()) {
        return false;
      }
      ++pos_;
      return true;
    }
    if (c == '"') {
      ++pos_;
      while (pos_ < s_.size()) {
        const char q = s_[pos_];
        if (q == '"') {
          ++pos_;
          return true;
        }
        if (q == '\r' || q == '\n' || q == '\0') {
          return false;
        }
        if (q == '\\') {
          ++pos_;
          if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\\')) {
            return false;
          }
        }
        ++pos_;
      }
      return false;
    }
    if (c == '{') {
      std::size_t close = s_.find('}', pos_);
      if (close == std::string_view::npos || close == pos_ + 1 || close - pos_ > 21) {
        return false;
      }
      std::size_t n = 0;
      for (std::size_t i = pos_ + 1; i < close; ++i) {
        if (s_[i] < '0' || s_[i] > '9') {
          return false;
        }
        n = n * 10 + static_cast<std::size_t>(s_[i] - '0');
      }
      if (s_.substr(close + 1, 2) != "\r\n" || close + 3 + n > s_.size()) {
        return false;
      }
      pos_ = close + 3 + n;
      return true;
    }
    // atom: NIL or a number (or another atom such as a keyword).
    std::size_t start = pos_;
    while (pos_ < s_.size()) {
      const unsigned char a = static_cast<unsigned char>(s_[pos_]);
      if (a <= 0x20 || a >= 0x7f || a == '(' || a == ')' || a == '"' || a == '{' || a == '\\') {
        break;
      }
      ++pos_;
    }
    return pos_ > start;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

inline bool is_imap_value(std::string_view s) { return imap_value_checker(s).one_value(); }

// Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
inline bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    unsigned cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
      cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      const unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace homthu::fuzz
