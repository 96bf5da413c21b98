// EXPN (RFC 5321 §3.5.2): list membership is not disclosed.
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_expn(session& s, const proto::expn_args&) {
  s.reply(proto::make_reply(502, "5.5.1", "Error: EXPN not available"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
