// APPEND arguments (RFC 9051 §6.3.12, MULTIAPPEND RFC 3502). The message
// literal is not parsed here: the session streams it to storage.
#include "homthu/imap/proto/args.hpp"

#include "homthu/imap/proto/writer.hpp"

namespace homthu::imap::proto {

std::optional<std::string> parse_append_mailbox(lexer& lex) {
  auto m = lex.astring();
  if (!m || !lex.sp()) {
    return std::nullopt;
  }
  return m;
}

std::optional<append_message> parse_append_message(lexer& lex) {
  append_message msg;
  if (lex.peek() == '(') {
    if (!lex.open()) {
      return std::nullopt;
    }
    while (!lex.skip(')')) {
      if (!msg.flags.empty() && !lex.sp()) {
        return std::nullopt;
      }
      auto f = lex.flag();
      if (!f) {
        return std::nullopt;
      }
      msg.flags.push_back(std::move(*f));
    }
    if (!lex.sp()) {
      return std::nullopt;
    }
  }
  if (lex.peek() == '"') {
    auto d = lex.string();
    std::int64_t t = 0;
    if (!d || !parse_date_time(*d, t)) {
      lex.fail("Invalid date-time");
      return std::nullopt;
    }
    msg.internal_date = t;
    if (!lex.sp()) {
      return std::nullopt;
    }
  }
  if (lex.peek() != '{' && lex.peek() != '~') {
    lex.fail("Expected the message literal");
    return std::nullopt;
  }
  return msg;
}

}  // namespace homthu::imap::proto
