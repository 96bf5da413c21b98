// LOGIN arguments (RFC 9051 §6.2.3): userid SP password, both astrings.
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<login_args> parse_login(lexer& lex) {
  login_args a;
  auto user = lex.astring();
  if (!user || !lex.sp()) {
    return std::nullopt;
  }
  auto pass = lex.astring();
  if (!pass || !lex.end()) {
    return std::nullopt;
  }
  a.user = std::move(*user);
  a.password = std::move(*pass);
  return a;
}

}  // namespace homthu::imap::proto
