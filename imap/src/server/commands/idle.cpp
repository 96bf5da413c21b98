// IDLE (RFC 2177, RFC 9051 §6.3.13). Changes arrive through the storage
// change feed, which wakes this session on its strand; they are sent at
// once, so the client sees them within the feed's 100 ms.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> idle(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  s.out("+ idling\r\n");
  for (int rounds = 0;; ++rounds) {
    if (s.sel) {
      co_await s.sync(true);
    }
    if (!co_await s.flush()) {
      co_return reply::no("Connection lost");
    }
    bool input = false;
    co_await s.wait_event_or_input(input);
    if (s.stopping()) {
      s.out("* BYE Server shutting down\r\n");
      auto r = reply::ok("");
      r.no_tagged = true;
      r.action = reply::then::close;
      co_return r;
    }
    if (input) {
      auto line = co_await s.read_line();
      if (!line) {
        co_return reply::no("Connection lost");
      }
      if (proto::iequals(*line, "DONE")) {
        co_return reply::ok("IDLE terminated");
      }
      co_return reply::bad("Expected DONE");
    }
  }
}

}  // namespace homthu::imap::cmd
