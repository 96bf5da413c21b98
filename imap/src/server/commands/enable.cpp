// ENABLE (RFC 5161): CONDSTORE, QRESYNC (RFC 7162 §3.2.3), UTF8=ACCEPT
// (RFC 6855), IMAP4rev2 (RFC 9051 §6.3.1).
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> enable(session& s, command& c) {
  auto caps = proto::parse_enable(c.lex);
  if (!caps) {
    co_return reply::bad(c.lex.error());
  }
  std::string enabled;
  for (const auto& cap : *caps) {
    bool now = false;
    if (cap == "CONDSTORE" && !s.condstore) {
      s.condstore = now = true;
    } else if (cap == "QRESYNC" && !s.qresync) {
      s.qresync = s.condstore = now = true;
    } else if (cap == "UTF8=ACCEPT" && !s.utf8) {
      s.utf8 = now = true;
    } else if (cap == "IMAP4REV2" && !s.rev2) {
      s.rev2 = now = true;
    }
    if (now) {
      enabled += " " + (cap == "IMAP4REV2" ? std::string("IMAP4rev2") : cap);
    }
  }
  s.out("* ENABLED" + enabled + "\r\n");
  co_return reply::ok("ENABLE completed");
}

}  // namespace homthu::imap::cmd
