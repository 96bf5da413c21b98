// UNSELECT (RFC 3691, RFC 9051 §6.4.2): leave without expunging.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> unselect(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  s.unselect();
  co_return reply::ok("UNSELECT completed");
}

}  // namespace homthu::imap::cmd
