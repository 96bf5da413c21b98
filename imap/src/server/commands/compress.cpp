// COMPRESS (RFC 4978). Only DEFLATE; once active it stays for the rest of the
// connection. Bytes the client pipelined after the command were sent before
// it knew the answer and so cannot be told apart from compressed data: the
// command is refused with BAD and they are dropped unread
// (RELIABILITY.md S4, as Dovecot's cmd-compress.c).
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> compress(session& s, command& c) {
  auto mech = c.lex.atom();
  if (!mech || !c.lex.end()) {
    co_return reply::bad("COMPRESS needs one mechanism");
  }
  if (s.compression_active()) {
    co_return reply::no("[COMPRESSIONACTIVE] Compression is already on");
  }
  if (!proto::iequals(*mech, "DEFLATE")) {
    co_return reply::no("Unknown compression mechanism");
  }
  if (s.input_buffered()) {
    s.drop_buffered_input();
    co_return reply::bad("Data pipelined after COMPRESS");
  }
  auto r = reply::ok("DEFLATE active");
  r.action = reply::then::compress;
  co_return r;
}

}  // namespace homthu::imap::cmd
