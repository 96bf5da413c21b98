// HELP (RFC 5321 §4.1.1.8).
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_help(session& s, const proto::help_args&) {
  s.reply(proto::make_reply(214, "2.0.0",
                            "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP STARTTLS AUTH"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
