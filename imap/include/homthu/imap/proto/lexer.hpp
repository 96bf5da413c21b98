#pragma once
// Token primitives of the IMAP grammar (RFC 9051 §9) over one complete
// command as framed by reader: literals appear inline as "{N}\r\n" followed
// by N bytes. Sans I/O. Every primitive returns false / nullopt on a syntax
// error and leaves a reason in error(), which the session sends in BAD.
//
// Trusts nothing: parenthesis nesting is bounded (I1), NUL is refused
// outside literals (I6), numbers are range-checked.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace homthu::imap::proto {

class lexer {
 public:
  static constexpr int max_depth = 32;

  explicit lexer(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  std::size_t position() const { return pos_; }
  void seek(std::size_t p) { pos_ = p; }
  std::string_view rest() const { return text_.substr(pos_); }
  std::string_view slice(std::size_t from, std::size_t to) const { return text_.substr(from, to - from); }

  // True when the next atom is `word` (case-insensitive); consumes nothing.
  bool next_is(std::string_view word) const;
  // Consumes c if it is next.
  bool skip(char c);
  // Exactly one SP.
  bool sp();
  // Requires the end of the command.
  bool end();

  // tag = 1*<any ASTRING-CHAR except "+">
  std::optional<std::string_view> tag();
  // atom = 1*ATOM-CHAR
  std::optional<std::string_view> atom();
  // Like atom but stops at '[' (fetch attribute names, "BODY[", "BINARY[").
  std::optional<std::string_view> fetch_word();
  // astring = 1*ASTRING-CHAR / string
  std::optional<std::string> astring();
  // string = quoted / literal; literal8 too when allow_binary.
  std::optional<std::string> string(bool allow_binary = false);
  // nstring = string / "NIL"
  std::optional<std::optional<std::string>> nstring();
  // list-mailbox = 1*list-char / string  (list-char adds "%" "*" "]")
  std::optional<std::string> list_mailbox();
  // number (32-bit), nz-number, number64 (RFC 9051 §9: up to 2^63-1)
  std::optional<std::uint32_t> number();
  std::optional<std::uint32_t> nz_number();
  std::optional<std::uint64_t> number64();
  // flag = "\" atom / atom (keywords); returns the flag with its backslash.
  std::optional<std::string> flag(bool allow_wildcard = false);

  // Parenthesis with the nesting bound.
  bool open();
  bool close();

  // True when the next bytes are a literal announcement or a quote.
  bool at_string() const { return peek() == '"' || peek() == '{' || peek() == '~'; }
  // True when the last string() came from a literal8 (~{N}).
  bool last_was_binary() const { return last_binary_; }

  bool fail(std::string reason);
  const std::string& error() const { return error_; }

 private:
  std::optional<std::string> quoted();
  std::optional<std::string> literal(bool allow_binary);

  std::string_view text_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  bool last_binary_ = false;
  std::string error_;
};

// ATOM-CHAR: any CHAR except atom-specials (RFC 9051 §9).
bool is_atom_char(char c);
// ASTRING-CHAR = ATOM-CHAR / resp-specials ("]")
bool is_astring_char(char c);
// Uppercased ASCII copy (command names and keywords are case-insensitive).
std::string upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

}  // namespace homthu::imap::proto
