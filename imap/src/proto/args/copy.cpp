// COPY and MOVE arguments (RFC 9051 §6.4.7, §6.4.8; RFC 6851).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<copy_args> parse_copy(lexer& lex) {
  auto set = parse_seqset(lex);
  if (!set || !lex.sp()) {
    return std::nullopt;
  }
  auto m = lex.astring();
  if (!m || !lex.end()) {
    return std::nullopt;
  }
  return copy_args{std::move(*set), std::move(*m)};
}

}  // namespace homthu::imap::proto
