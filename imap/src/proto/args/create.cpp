// CREATE arguments (RFC 9051 §6.3.4) with CREATE-SPECIAL-USE (RFC 6154 §3).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<create_args> parse_create(lexer& lex) {
  create_args a;
  auto m = lex.astring();
  if (!m) {
    return std::nullopt;
  }
  a.mailbox = std::move(*m);
  if (lex.skip(' ')) {
    if (!lex.open()) {
      return std::nullopt;
    }
    auto name = lex.atom();
    if (!name || !iequals(*name, "USE") || !lex.sp() || !lex.open()) {
      lex.fail("Expected (USE (...))");
      return std::nullopt;
    }
    while (!lex.skip(')')) {
      if (!a.use.empty() && !lex.sp()) {
        return std::nullopt;
      }
      auto f = lex.flag();
      if (!f) {
        return std::nullopt;
      }
      a.use.push_back(*f);
    }
    if (!lex.close()) {
      return std::nullopt;
    }
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return a;
}

}  // namespace homthu::imap::proto
