// Mailbox name validation. Names never reach the filesystem (they are rows
// in SQLite), but export writes Maildir folders from them and clients echo
// them back, so we refuse the shapes that have broken other servers
// (RELIABILITY.md I5; Dovecot mailbox_list_is_valid_fs_name).

#include "names.hpp"

#include <cstdint>

namespace homthu::storage::names {

namespace {

constexpr std::size_t max_name = 1000;
constexpr std::size_t max_level = 255;
constexpr std::size_t max_depth = 32;

bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool valid_level(std::string_view level) {
  if (level.empty() || level.size() > max_level) {
    return false;
  }
  if (level == "." || level == ".." || level == "cur" || level == "new" || level == "tmp") {
    return false;
  }
  if (level.front() == '~') {
    return false;
  }
  return true;
}

}  // namespace

std::optional<std::string> canonical(std::string_view name) {
  if (name.empty() || name.size() > max_name || !valid_utf8(name)) {
    return std::nullopt;
  }
  for (char ch : name) {
    auto c = static_cast<unsigned char>(ch);
    // Control characters (NUL, CR, LF…), DEL, and LIST wildcards.
    if (c < 0x20 || c == 0x7F || c == '*' || c == '%' || c == '\\') {
      return std::nullopt;
    }
  }
  if (name.front() == '/' || name.back() == '/') {
    return std::nullopt;
  }
  std::size_t depth = 0;
  std::size_t start = 0;
  while (true) {
    std::size_t slash = name.find('/', start);
    std::string_view level = name.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!valid_level(level) || ++depth > max_depth) {
      return std::nullopt;
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  std::string out(name);
  std::string_view first = name.substr(0, name.find('/'));
  if (first.size() == 5) {
    bool inbox = true;
    for (std::size_t i = 0; i < 5; ++i) {
      char c = first[i];
      if (c >= 'a' && c <= 'z') {
        c = static_cast<char>(c - 'a' + 'A');
      }
      inbox = inbox && c == "INBOX"[i];
    }
    if (inbox) {
      out.replace(0, 5, "INBOX");
    }
  }
  return out;
}

bool is_same_or_below(std::string_view name, std::string_view parent) {
  return name == parent || (name.size() > parent.size() && name.starts_with(parent) && name[parent.size()] == '/');
}

}  // namespace homthu::storage::names
