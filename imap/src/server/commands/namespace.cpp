// NAMESPACE (RFC 2342, RFC 9051 §6.3.10): one personal namespace, "/" as
// the hierarchy separator, no shared or other-user namespaces.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> namespace_(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  s.out("* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
  co_return reply::ok("NAMESPACE completed");
}

}  // namespace homthu::imap::cmd
