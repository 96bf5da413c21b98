// IMAP token primitives (see lexer.hpp). Input is untrusted; no primitive
// reads past the command's end, and nesting is bounded.
#include "homthu/imap/proto/lexer.hpp"

#include <cctype>

namespace homthu::imap::proto {

bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) {
    return false;
  }
  switch (c) {
    case '(': case ')': case '{': case '%': case '*': case '"': case '\\': case ']':
      return false;
    default:
      return true;
  }
}

bool is_astring_char(char c) { return is_atom_char(c) || c == ']'; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool lexer::fail(std::string reason) {
  if (error_.empty()) {
    error_ = std::move(reason);
  }
  return false;
}

bool lexer::next_is(std::string_view word) const {
  if (text_.size() - pos_ < word.size() || !iequals(text_.substr(pos_, word.size()), word)) {
    return false;
  }
  auto after = pos_ + word.size();
  return after == text_.size() || !is_atom_char(text_[after]);
}

bool lexer::skip(char c) {
  if (peek() == c && !at_end()) {
    ++pos_;
    if (c == ')' && depth_ > 0) {
      --depth_;
    }
    return true;
  }
  return false;
}

bool lexer::sp() {
  if (skip(' ')) {
    return true;
  }
  return fail(at_end() ? "Missing argument" : "Expected a space");
}

bool lexer::end() {
  if (at_end()) {
    return true;
  }
  return fail("Unexpected characters at the end of the command");
}

std::optional<std::string_view> lexer::tag() {
  auto start = pos_;
  while (!at_end() && is_astring_char(text_[pos_]) && text_[pos_] != '+') {
    ++pos_;
  }
  if (pos_ == start) {
    fail("Invalid tag");
    return std::nullopt;
  }
  return text_.substr(start, pos_ - start);
}

std::optional<std::string_view> lexer::atom() {
  auto start = pos_;
  while (!at_end() && is_atom_char(text_[pos_])) {
    ++pos_;
  }
  if (pos_ == start) {
    fail(at_end() ? "Missing argument" : "Expected an atom");
    return std::nullopt;
  }
  return text_.substr(start, pos_ - start);
}

std::optional<std::string_view> lexer::fetch_word() {
  auto start = pos_;
  while (!at_end() && is_atom_char(text_[pos_]) && text_[pos_] != '[' && text_[pos_] != '<') {
    ++pos_;
  }
  if (pos_ == start) {
    fail("Expected a fetch attribute");
    return std::nullopt;
  }
  return text_.substr(start, pos_ - start);
}

std::optional<std::string> lexer::quoted() {
  // quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR excludes CR, LF and NUL
  // (RFC 9051 §9); 8-bit UTF-8 is accepted (RFC 9051 utf8-quoted).
  ++pos_;
  std::string out;
  while (!at_end()) {
    char c = text_[pos_++];
    if (c == '"') {
      return out;
    }
    if (c == '\\') {
      if (at_end() || (text_[pos_] != '"' && text_[pos_] != '\\')) {
        fail("Invalid escape in quoted string");
        return std::nullopt;
      }
      out.push_back(text_[pos_++]);
      continue;
    }
    if (c == '\0' || c == '\r' || c == '\n') {
      fail("NUL, CR or LF in quoted string");
      return std::nullopt;
    }
    out.push_back(c);
  }
  fail("Unterminated quoted string");
  return std::nullopt;
}

std::optional<std::string> lexer::literal(bool allow_binary) {
  last_binary_ = false;
  if (peek() == '~') {
    if (!allow_binary) {
      fail("literal8 not allowed here");
      return std::nullopt;
    }
    last_binary_ = true;
    ++pos_;
  }
  if (!skip('{')) {
    fail("Expected a literal");
    return std::nullopt;
  }
  std::uint64_t n = 0;
  std::size_t digits = 0;
  while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9' && digits < 20) {
    n = n * 10 + static_cast<unsigned>(text_[pos_++] - '0');
    ++digits;
  }
  if (digits == 0) {
    fail("Invalid literal size");
    return std::nullopt;
  }
  if (peek() == '+' || peek() == '-') {
    ++pos_;
  }
  if (!skip('}') || !skip('\r') || !skip('\n')) {
    fail("Invalid literal");
    return std::nullopt;
  }
  if (n > text_.size() - pos_) {
    fail("Literal shorter than announced");
    return std::nullopt;
  }
  std::string out(text_.substr(pos_, static_cast<std::size_t>(n)));
  pos_ += static_cast<std::size_t>(n);
  if (!last_binary_ && out.find('\0') != std::string::npos) {
    // RFC 9051 §4.3: NUL is not allowed in a literal (only in literal8).
    fail("NUL in literal");
    return std::nullopt;
  }
  return out;
}

std::optional<std::string> lexer::string(bool allow_binary) {
  last_binary_ = false;
  if (peek() == '"') {
    return quoted();
  }
  if (peek() == '{' || peek() == '~') {
    return literal(allow_binary);
  }
  fail(at_end() ? "Missing argument" : "Expected a string");
  return std::nullopt;
}

std::optional<std::string> lexer::astring() {
  if (at_string()) {
    return string();
  }
  auto start = pos_;
  while (!at_end() && is_astring_char(text_[pos_])) {
    ++pos_;
  }
  if (pos_ == start) {
    fail(at_end() ? "Missing argument" : "Expected a string");
    return std::nullopt;
  }
  return std::string(text_.substr(start, pos_ - start));
}

std::optional<std::optional<std::string>> lexer::nstring() {
  if (at_string()) {
    auto s = string();
    if (!s) {
      return std::nullopt;
    }
    return std::optional<std::string>(std::move(*s));
  }
  auto save = pos_;
  auto a = atom();
  if (a && iequals(*a, "NIL")) {
    return std::optional<std::string>();
  }
  pos_ = save;
  fail("Expected a string or NIL");
  return std::nullopt;
}

std::optional<std::string> lexer::list_mailbox() {
  if (at_string()) {
    return string();
  }
  auto start = pos_;
  while (!at_end() && (is_astring_char(text_[pos_]) || text_[pos_] == '%' || text_[pos_] == '*')) {
    ++pos_;
  }
  if (pos_ == start) {
    fail("Expected a mailbox pattern");
    return std::nullopt;
  }
  return std::string(text_.substr(start, pos_ - start));
}

std::optional<std::uint64_t> lexer::number64() {
  std::uint64_t n = 0;
  std::size_t digits = 0;
  while (!at_end() && text_[pos_] >= '0' && text_[pos_] <= '9') {
    if (++digits > 19) {
      fail("Number too large");
      return std::nullopt;
    }
    n = n * 10 + static_cast<unsigned>(text_[pos_++] - '0');
  }
  if (digits == 0) {
    fail("Expected a number");
    return std::nullopt;
  }
  if (n > 0x7fffffffffffffffull) {
    fail("Number too large");
    return std::nullopt;
  }
  return n;
}

std::optional<std::uint32_t> lexer::number() {
  auto n = number64();
  if (!n) {
    return std::nullopt;
  }
  if (*n > 0xffffffffull) {
    fail("Number too large");
    return std::nullopt;
  }
  return static_cast<std::uint32_t>(*n);
}

std::optional<std::uint32_t> lexer::nz_number() {
  auto n = number();
  if (n && *n == 0) {
    fail("Zero is not allowed here");
    return std::nullopt;
  }
  return n;
}

std::optional<std::string> lexer::flag(bool allow_wildcard) {
  std::string out;
  if (skip('\\')) {
    if (allow_wildcard && skip('*')) {
      return std::string("\\*");
    }
    out.push_back('\\');
  }
  auto a = atom();
  if (!a) {
    fail("Invalid flag");
    return std::nullopt;
  }
  out.append(*a);
  return out;
}

bool lexer::open() {
  if (!skip('(')) {
    return fail("Expected '('");
  }
  if (++depth_ > max_depth) {
    return fail("Too deeply nested");
  }
  return true;
}

bool lexer::close() {
  if (!skip(')')) {
    return fail("Expected ')'");
  }
  return true;
}

}  // namespace homthu::imap::proto
