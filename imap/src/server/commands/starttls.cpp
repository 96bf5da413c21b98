// STARTTLS (RFC 9051 §6.2.1). The session discards buffered plaintext before
// the handshake (S3).
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> starttls(session& s, command& c) {
  if (!c.lex.end()) {
    co_return reply::bad(c.lex.error());
  }
  if (s.tls_active()) {
    co_return reply::bad("TLS is already active");
  }
  auto r = reply::ok("Begin TLS negotiation now");
  r.action = reply::then::starttls;
  co_return r;
}

}  // namespace homthu::imap::cmd
