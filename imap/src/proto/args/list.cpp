// LIST (RFC 9051 §6.3.9, LIST-EXTENDED RFC 5258, LIST-STATUS RFC 5819,
// SPECIAL-USE RFC 6154) and LSUB (RFC 3501 §6.3.9) arguments.
#include "homthu/imap/proto/args.hpp"

namespace homthu::imap::proto {

std::optional<list_args> parse_list(lexer& lex, bool lsub) {
  list_args a;
  a.lsub = lsub;
  if (!lsub && lex.peek() == '(') {
    // list-select-opts
    a.extended = true;
    if (!lex.open()) {
      return std::nullopt;
    }
    bool first = true;
    while (!lex.skip(')')) {
      if (!first && !lex.sp()) {
        return std::nullopt;
      }
      first = false;
      auto o = lex.atom();
      if (!o) {
        return std::nullopt;
      }
      auto n = upper(*o);
      if (n == "SUBSCRIBED") {
        a.select_subscribed = true;
      } else if (n == "RECURSIVEMATCH") {
        a.select_recursive = true;
      } else if (n == "SPECIAL-USE") {
        a.select_special_use = true;
      } else if (n == "REMOTE") {
        // We have no remote mailboxes (RFC 5258 §3.1).
      } else {
        lex.fail("Unknown LIST selection option " + n);
        return std::nullopt;
      }
    }
    if (a.select_recursive && !a.select_subscribed) {
      lex.fail("RECURSIVEMATCH needs another selection option");
      return std::nullopt;
    }
    if (!lex.sp()) {
      return std::nullopt;
    }
  }
  auto ref = lex.astring();
  if (!ref || !lex.sp()) {
    return std::nullopt;
  }
  a.reference = std::move(*ref);
  if (!lsub && lex.peek() == '(') {
    a.extended = true;
    if (!lex.open()) {
      return std::nullopt;
    }
    while (!lex.skip(')')) {
      if (!a.patterns.empty() && !lex.sp()) {
        return std::nullopt;
      }
      auto p = lex.list_mailbox();
      if (!p) {
        return std::nullopt;
      }
      a.patterns.push_back(std::move(*p));
    }
  } else {
    auto p = lex.list_mailbox();
    if (!p) {
      return std::nullopt;
    }
    a.patterns.push_back(std::move(*p));
  }
  if (!lsub && lex.skip(' ')) {
    auto r = lex.atom();
    if (!r || !iequals(*r, "RETURN") || !lex.sp() || !lex.open()) {
      lex.fail("Expected RETURN (...)");
      return std::nullopt;
    }
    a.extended = true;
    bool first = true;
    while (!lex.skip(')')) {
      if (!first && !lex.sp()) {
        return std::nullopt;
      }
      first = false;
      auto o = lex.atom();
      if (!o) {
        return std::nullopt;
      }
      auto n = upper(*o);
      if (n == "SUBSCRIBED") {
        a.return_subscribed = true;
      } else if (n == "CHILDREN") {
        a.return_children = true;
      } else if (n == "SPECIAL-USE") {
        a.return_special_use = true;
      } else if (n == "STATUS") {
        if (!lex.sp() || !lex.open()) {
          return std::nullopt;
        }
        while (!lex.skip(')')) {
          if (!a.return_status.empty() && !lex.sp()) {
            return std::nullopt;
          }
          auto it = lex.atom();
          if (!it) {
            return std::nullopt;
          }
          auto item = upper(*it);
          if (!valid_status_item(item)) {
            lex.fail("Unknown STATUS item " + item);
            return std::nullopt;
          }
          a.return_status.push_back(std::move(item));
        }
      } else {
        lex.fail("Unknown LIST return option " + n);
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
