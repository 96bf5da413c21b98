// Folding and query building for the FTS5 index. Input is untrusted text
// (decoded mail headers and bodies, IMAP SEARCH arguments); output is always
// valid UTF-8 and, for MATCH, only quoted terms.

#include "text/fold.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>

namespace homthu::storage::text {

namespace {

// Decodes one code point at s[i]; returns its length or 0 when invalid.
std::size_t decode(std::string_view s, std::size_t i, std::uint32_t& cp) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  if (c < 0x80) {
    cp = c;
    return 1;
  } else if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) {
    return 0;
  }
  for (std::size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) {
      return 0;
    }
    cp = (cp << 6) | (d & 0x3F);
  }
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10FFFF ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// The length of the run of ASCII bytes other than NUL at s[i], which every
// function here copies unchanged: most mail text is such runs, copied in bulk.
// Eight bytes at a time while no byte of the word has its high bit set or is
// zero (the usual zero-byte test), then byte by byte.
std::size_t ascii_run(std::string_view s, std::size_t i) {
  constexpr std::uint64_t ones = 0x0101010101010101ull;
  constexpr std::uint64_t highs = 0x8080808080808080ull;
  std::size_t j = i;
  while (j + 8 <= s.size()) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + j, sizeof(w));
    if ((w & highs) != 0 || ((w - ones) & ~w & highs) != 0) {
      break;
    }
    j += 8;
  }
  while (j < s.size() && static_cast<unsigned>(static_cast<unsigned char>(s[j])) - 1u < 0x7Fu) {
    ++j;
  }
  return j - i;
}

void encode(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::uint32_t fold_cp(std::uint32_t cp) {
  switch (cp) {
    case 0x0111:  // đ
    case 0x0256:  // ɖ
      return 'd';
    case 0x0110:  // Đ
    case 0x0189:  // Ɖ
      return 'D';
    default:
      return cp;
  }
}

// Letters and digits as unicode61 sees them, roughly: ASCII alphanumerics
// and every non-ASCII code point that is not punctuation we know of. The
// tokenizer makes the final split; this only keeps FTS5 syntax out.
bool is_word_cp(std::uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp == 0xA0 || (cp >= 0x2000 && cp <= 0x206F) || (cp >= 0x3000 && cp <= 0x303F) || cp == 0xFEFF ||
      cp == 0xFFFD || (cp >= 0xA1 && cp <= 0xBF) || cp == 0xD7 || cp == 0xF7) {
    return false;
  }
  return true;
}

}  // namespace

std::string sanitize_utf8(std::string_view in) {
  std::string out;
  append_valid_utf8(out, in);
  return out;
}

void append_valid_utf8(std::string& out, std::string_view in) {
  // Grown geometrically: a caller appending part after part must not pay
  // one reallocation of everything per part.
  if (out.capacity() - out.size() < in.size()) {
    out.reserve(std::max(out.size() + in.size(), 2 * out.capacity()));
  }
  std::size_t i = 0;
  while (i < in.size()) {
    if (const auto run = ascii_run(in, i)) {
      out.append(in.substr(i, run));
      i += run;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t n = decode(in, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (cp == 0) {
      out.push_back(' ');
    } else {
      out.append(in.substr(i, n));
    }
    i += n;
  }
}

std::string fold_for_index(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  std::size_t i = 0;
  while (i < in.size()) {
    if (const auto run = ascii_run(in, i)) {
      out.append(in.substr(i, run));
      i += run;
      continue;
    }
    std::uint32_t cp = 0;
    std::size_t n = decode(in, i, cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (cp == 0) {
      out.push_back(' ');
    } else {
      encode(out, fold_cp(cp));
    }
    i += n;
  }
  return out;
}

std::vector<std::string> query_words(std::string_view in) {
  std::vector<std::string> words;
  std::string cur;
  std::size_t i = 0;
  while (i < in.size()) {
    std::uint32_t cp = 0;
    std::size_t n = decode(in, i, cp);
    if (n == 0) {
      n = 1;
      cp = 0xFFFD;
    }
    if (is_word_cp(cp)) {
      encode(cur, fold_cp(cp));
    } else if (!cur.empty()) {
      words.push_back(std::move(cur));
      cur.clear();
    }
    i += n;
  }
  if (!cur.empty()) {
    words.push_back(std::move(cur));
  }
  return words;
}

std::string match_expression(const std::vector<std::string>& words, std::string_view column) {
  std::string out;
  for (const auto& w : words) {
    if (!out.empty()) {
      out += " AND ";
    }
    if (!column.empty()) {
      out += column;
      out += " : ";
    }
    out += '"';
    for (char c : w) {
      if (c == '"') {
        out += "\"\"";
      } else {
        out.push_back(c);
      }
    }
    out += "\" *";
  }
  return out;
}

}  // namespace homthu::storage::text
