// SELECT / EXAMINE arguments (RFC 9051 §6.3.2) with the CONDSTORE and
// QRESYNC parameters (RFC 7162 §3.1.8, §3.2.5).
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

namespace {

bool parse_qresync(lexer& lex, qresync_params& q) {
  // "(" uidvalidity SP mod-sequence-value [SP known-uids] [SP seq-match-data] ")"
  if (!lex.open()) {
    return false;
  }
  auto v = lex.nz_number();
  if (!v || !lex.sp()) {
    return false;
  }
  auto m = lex.number64();
  if (!m) {
    return false;
  }
  q.uidvalidity = *v;
  q.modseq = *m;
  if (lex.skip(' ')) {
    if (lex.peek() != '(') {
      auto k = parse_seqset(lex, false);
      if (!k) {
        return false;
      }
      q.known_uids = std::move(*k);
      if (!lex.skip(' ')) {
        return lex.close();
      }
    }
    if (!lex.open()) {
      return false;
    }
    auto s = parse_seqset(lex, false);
    if (!s || !lex.sp()) {
      return false;
    }
    auto u = parse_seqset(lex, false);
    if (!u || !lex.close()) {
      return false;
    }
    q.match_seqs = std::move(*s);
    q.match_uids = std::move(*u);
  }
  return lex.close();
}

}  // namespace

std::optional<select_args> parse_select(lexer& lex) {
  select_args a;
  auto m = lex.astring();
  if (!m) {
    return std::nullopt;
  }
  a.mailbox = std::move(*m);
  if (lex.skip(' ')) {
    if (!lex.open()) {
      return std::nullopt;
    }
    bool first = true;
    while (!lex.skip(')')) {
      if (!first && !lex.sp()) {
        return std::nullopt;
      }
      first = false;
      auto name = lex.atom();
      if (!name) {
        return std::nullopt;
      }
      auto n = upper(*name);
      if (n == "CONDSTORE") {
        a.condstore = true;
      } else if (n == "QRESYNC") {
        qresync_params q;
        if (!lex.sp() || !parse_qresync(lex, q)) {
          lex.fail("Invalid QRESYNC parameter");
          return std::nullopt;
        }
        a.qresync = std::move(q);
      } else {
        lex.fail("Unknown SELECT parameter " + n);
        return std::nullopt;
      }
    }
  }
  if (!lex.end()) {
    return std::nullopt;
  }
  return a;
}

}  // namespace homthu::imap::proto
