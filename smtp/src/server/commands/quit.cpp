// QUIT (RFC 5321 §4.1.1.10): 221 and close; an open transaction is dropped.
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_quit(session& s, const proto::quit_args&) {
  s.reset_transaction();
  s.reply(proto::make_reply(221, "2.0.0", s.st.hostname + " closing connection"));
  co_return next::close;
}

}  // namespace homthu::smtp::detail
