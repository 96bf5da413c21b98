// NOOP (RFC 9051 §6.1.2): the untagged updates are the point; the session
// sends them after every command that allows them.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> noop(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  if (s.sel) {
    co_await s.sync(true, true);
  }
  co_return reply::ok("NOOP completed");
}

}  // namespace homthu::imap::cmd
