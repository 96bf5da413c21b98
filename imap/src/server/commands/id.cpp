// ID (RFC 2971). The client's fields are logged (bounded), ours are minimal.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> id(session& s, command& c) {
  auto fields = proto::parse_id(c.lex);
  if (!fields) {
    co_return reply::bad(c.lex.error());
  }
  for (const auto& [k, v] : *fields) {
    if (k == "name" || k == "version" || k == "os") {
      s.log.debug("imap.client_id", {{"field", k.substr(0, 32)}, {"value", v ? v->substr(0, 64) : "NIL"}});
    }
  }
  s.out("* ID (\"name\" \"homthu\" \"vendor\" \"Thai Nguyen\")\r\n");
  co_return reply::ok("ID completed");
}

}  // namespace homthu::imap::cmd
