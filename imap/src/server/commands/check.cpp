// CHECK (RFC 3501 §6.4.1; removed in IMAP4rev2 but still sent by old
// clients): storage is always durable, so it is a NOOP.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> check(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  co_await s.sync(true, true);
  co_return reply::ok("CHECK completed");
}

}  // namespace homthu::imap::cmd
