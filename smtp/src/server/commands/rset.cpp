// RSET (RFC 5321 §4.1.1.5): abort the transaction, remove its spooled copy.
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_rset(session& s, const proto::rset_args&) {
  s.reset_transaction();
  s.reply(proto::make_reply(250, "2.0.0", "Ok"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
