// VRFY (RFC 5321 §3.5.3): we never confirm or deny an address, which would
// let anyone harvest the province's directory; 252 is the RFC's answer for
// "cannot verify, but will try delivery".
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_vrfy(session& s, const proto::vrfy_args&) {
  s.reply(proto::make_reply(252, "2.5.2", "Cannot VRFY user, but will accept message and attempt delivery"));
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
