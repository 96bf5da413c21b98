// Commands taking one mailbox: DELETE, SUBSCRIBE, UNSUBSCRIBE, GETQUOTAROOT,
// GETQUOTA (a quota root), and RENAME's two (RFC 9051 §6.3).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<std::string> parse_mailbox_only(lexer& lex) {
  auto m = lex.astring();
  if (!m || !lex.end()) {
    return std::nullopt;
  }
  return m;
}

std::optional<rename_args> parse_rename(lexer& lex) {
  auto from = lex.astring();
  if (!from || !lex.sp()) {
    return std::nullopt;
  }
  auto to = lex.astring();
  if (!to || !lex.end()) {
    return std::nullopt;
  }
  return rename_args{std::move(*from), std::move(*to)};
}

std::optional<seqset> parse_uid_expunge(lexer& lex) {
  auto s = parse_seqset(lex);
  if (!s || !lex.end()) {
    return std::nullopt;
  }
  return s;
}

std::optional<std::vector<std::string>> parse_enable(lexer& lex) {
  std::vector<std::string> caps;
  for (;;) {
    auto a = lex.atom();
    if (!a) {
      return std::nullopt;
    }
    caps.push_back(upper(*a));
    if (lex.at_end()) {
      return caps;
    }
    if (!lex.sp()) {
      return std::nullopt;
    }
  }
}

std::optional<std::vector<std::pair<std::string, std::optional<std::string>>>> parse_id(lexer& lex) {
  std::vector<std::pair<std::string, std::optional<std::string>>> out;
  if (lex.peek() != '(') {
    auto n = lex.atom();
    if (!n || !iequals(*n, "NIL") || !lex.end()) {
      lex.fail("Expected NIL or a list");
      return std::nullopt;
    }
    return out;
  }
  if (!lex.open()) {
    return std::nullopt;
  }
  while (!lex.skip(')')) {
    if (!out.empty() && !lex.sp()) {
      return std::nullopt;
    }
    auto k = lex.string();
    if (!k || !lex.sp()) {
      return std::nullopt;
    }
    auto v = lex.nstring();
    if (!v) {
      return std::nullopt;
    }
    // RFC 2971 §3.3: at most 30 pairs.
    if (out.size() >= 30) {
      lex.fail("Too many ID fields");
      return std::nullopt;
    }
    out.emplace_back(std::move(*k), std::move(*v));
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return out;
}

}  // namespace homthu::imap::proto
