// LOGOUT (RFC 9051 §6.1.3): BYE, then the tagged OK, then close.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> logout(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  s.out("* BYE Logging out\r\n");
  s.st = state::logout;
  auto r = reply::ok("LOGOUT completed");
  r.action = reply::then::close;
  co_return r;
}

}  // namespace homthu::imap::cmd
