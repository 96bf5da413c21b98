// NOOP (RFC 5321 §4.1.1.9). Counted as junk (A4) by the command table.
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_noop(session& s, const proto::noop_args&) {
  s.reply(proto::make_reply(250, "2.0.0", "Ok"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
