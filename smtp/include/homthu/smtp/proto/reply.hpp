#pragma once
// SMTP replies. Every reply carries an RFC 3463 enhanced status code
// (RFC 2034 ENHANCEDSTATUSCODES is always advertised), so the one type that
// flows from parsers and handlers to the wire is `reply`: the code, the
// enhanced code, the text safe to send, and a detail for the log only.

#include <boost/system/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace homthu::smtp::proto {

struct reply {
  int code = 250;
  std::string enhanced;   // "2.0.0"; empty only for 220/221 greetings where RFC 2034 §3 omits it
  std::string text;       // may contain '\n' to make a multi-line reply
  std::string detail;     // for the log, never sent

  bool positive() const { return code >= 200 && code < 400; }
  bool transient() const { return code >= 400 && code < 500; }
  bool permanent() const { return code >= 500; }
};

inline reply make_reply(int code, std::string_view enhanced, std::string_view text,
                        std::string_view detail = {}) {
  return reply{code, std::string(enhanced), std::string(text), std::string(detail)};
}

// "250-first\r\n250 2.0.0 last\r\n": each line of `text` gets the code, the
// enhanced code (RFC 2034 §3: on every line of a multi-line reply), and CRLF.
// Control characters in text are replaced by '?' so that nothing a client sent
// can end a reply line early.
std::string format(const reply& r);
// EHLO's reply: the first line is the greeting, the rest are keywords; RFC
// 2034 does not put enhanced codes in the EHLO keyword lines.
std::string format_ehlo(std::string_view greeting, const std::vector<std::string>& keywords);

template <class T>
using result = boost::system::result<T, reply>;

// boost::system::result<T, reply>::value() throws through this; handlers use
// has_value()/error() instead, so reaching it is a broken invariant.
[[noreturn]] void throw_exception_from_error(const reply& r, const boost::source_location& loc);

}  // namespace homthu::smtp::proto
