// STATUS arguments (RFC 9051 §6.3.11; HIGHESTMODSEQ RFC 7162; SIZE RFC 8438).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

bool valid_status_item(const std::string& n) {
  return n == "MESSAGES" || n == "UIDNEXT" || n == "UIDVALIDITY" || n == "UNSEEN" || n == "RECENT" ||
         n == "SIZE" || n == "HIGHESTMODSEQ" || n == "DELETED";
}

std::optional<status_args> parse_status(lexer& lex) {
  status_args a;
  auto m = lex.astring();
  if (!m || !lex.sp() || !lex.open()) {
    return std::nullopt;
  }
  a.mailbox = std::move(*m);
  while (!lex.skip(')')) {
    if (!a.items.empty() && !lex.sp()) {
      return std::nullopt;
    }
    auto it = lex.atom();
    if (!it) {
      return std::nullopt;
    }
    auto n = upper(*it);
    if (!valid_status_item(n)) {
      lex.fail("Unknown STATUS item " + n);
      return std::nullopt;
    }
    a.items.push_back(std::move(n));
  }
  if (a.items.empty()) {
    lex.fail("Empty STATUS item list");
    return std::nullopt;
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return a;
}

}  // namespace homthu::imap::proto
