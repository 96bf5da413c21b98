// CAPABILITY (RFC 9051 §6.1.1).
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> capability(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  s.out("* CAPABILITY " + s.capabilities() + "\r\n");
  co_return reply::ok("CAPABILITY completed");
}

}  // namespace homthu::imap::cmd
