// MOVE and UID MOVE (RFC 6851): atomic in storage; shares COPY's code.
#include "commands.hpp"

namespace homthu::imap::cmd {

asio::awaitable<reply> copy_or_move(session& s, command& c, bool move);

asio::awaitable<reply> move(session& s, command& c) { return copy_or_move(s, c, true); }

}  // namespace homthu::imap::cmd
