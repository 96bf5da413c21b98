// STORE arguments (RFC 9051 §6.4.6, UNCHANGEDSINCE RFC 7162 §3.1.3).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<store_args> parse_store(lexer& lex) {
  store_args a;
  auto set = parse_seqset(lex);
  if (!set || !lex.sp()) {
    return std::nullopt;
  }
  a.set = std::move(*set);
  if (lex.peek() == '(') {
    if (!lex.open()) {
      return std::nullopt;
    }
    auto m = lex.atom();
    if (!m || !iequals(*m, "UNCHANGEDSINCE") || !lex.sp()) {
      lex.fail("Unknown STORE modifier");
      return std::nullopt;
    }
    auto v = lex.number64();
    if (!v || !lex.close() || !lex.sp()) {
      return std::nullopt;
    }
    a.unchanged_since = *v;
  }
  if (lex.skip('+')) {
    a.mode = store_args::op::add;
  } else if (lex.skip('-')) {
    a.mode = store_args::op::remove;
  }
  auto item = lex.atom();
  if (!item) {
    return std::nullopt;
  }
  auto n = upper(*item);
  if (n == "FLAGS.SILENT") {
    a.silent = true;
  } else if (n != "FLAGS") {
    lex.fail("Expected FLAGS or FLAGS.SILENT");
    return std::nullopt;
  }
  if (!lex.sp()) {
    return std::nullopt;
  }
  if (lex.peek() == '(') {
    if (!lex.open()) {
      return std::nullopt;
    }
    while (!lex.skip(')')) {
      if (!a.flags.empty() && !lex.sp()) {
        return std::nullopt;
      }
      auto f = lex.flag();
      if (!f) {
        return std::nullopt;
      }
      a.flags.push_back(std::move(*f));
    }
  } else {
    for (;;) {
      auto f = lex.flag();
      if (!f) {
        return std::nullopt;
      }
      a.flags.push_back(std::move(*f));
      if (!lex.skip(' ')) {
        break;
      }
    }
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return a;
}

}  // namespace homthu::imap::proto
