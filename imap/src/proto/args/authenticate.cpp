// AUTHENTICATE arguments (RFC 9051 §6.2.2) with SASL-IR (RFC 4959 §3).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<authenticate_args> parse_authenticate(lexer& lex) {
  authenticate_args a;
  auto mech = lex.atom();
  if (!mech) {
    return std::nullopt;
  }
  a.mechanism = upper(*mech);
  if (lex.skip(' ')) {
    // initial-response = base64 / "="
    auto start = lex.position();
    while (!lex.at_end() && lex.peek() != ' ') {
      char c = lex.peek();
      bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                c == '/' || c == '=';
      if (!ok) {
        lex.fail("Invalid base64 in initial response");
        return std::nullopt;
      }
      lex.seek(lex.position() + 1);
    }
    if (lex.position() == start) {
      lex.fail("Empty initial response");
      return std::nullopt;
    }
    a.initial = std::string(lex.slice(start, lex.position()));
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return a;
}

}  // namespace homthu::imap::proto
