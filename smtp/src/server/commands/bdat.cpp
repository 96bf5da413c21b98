// BDAT (RFC 3030). Input: a chunk of exactly `size` octets after the
// command line. Invariants: the chunk is always read, whatever the reply, so
// its bytes never become commands; chunks are stored as sent (no
// dot-stuffing, RFC 3030 §2); a message over the size limit is refused with
// 552 and the transaction is reset (S14), so later BDATs get 503 until a new
// MAIL; the 250 to BDAT LAST follows the same durability rule as DATA; a
// chunk trickled below smtp.min_data_rate is cut off like DATA content.
#include "../delivery.hpp"
#include "../events.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_bdat(session& s, const proto::bdat_args& a) {
  std::optional<proto::reply> refusal;
  if (s.ph != phase::rcpt && s.ph != phase::bdat) {
    refusal = s.ph == phase::mail && s.tx.rcpt_attempts > 0
                  ? proto::make_reply(554, "5.5.1", "Error: no valid recipients")
                  : proto::make_reply(503, "5.5.1", "Error: no mail transaction in progress");
  }
  const auto max = s.st.svc.cfg.smtp.max_message_size;
  if (!refusal && s.tx.bdat_size + a.size > max) {
    refusal = proto::make_reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
    log_rejected_message(s, *refusal, {}, s.tx.bdat_size + a.size);
    s.reset_transaction();  // drops the sink and its spooled copy
  }
  if (!refusal && !s.tx.bdat_sink) {
    auto opened = co_await message_sink::open(s);
    if (!opened) {
      refusal = opened.error();
      log_rejected_message(s, *refusal);
      s.reset_transaction();
    } else {
      s.tx.bdat_sink = std::move(*opened);
    }
  }
  if (refusal) {
    if (!co_await s.skip_bytes(a.size)) {
      co_return next::close;
    }
    s.reply(*refusal);
    co_return next::keep;
  }
  std::uint64_t left = a.size;
  rate_floor floor;
  while (left > 0) {
    auto in = s.lines.buffered();
    if (in.empty()) {
      if (!co_await s.read_more(s.st.svc.cfg.smtp.data_timeout) || floor.too_slow(s, s.lines.buffered().size())) {
        s.reset_transaction();  // drops the sink and its spooled chunks now
        co_return next::close;
      }
      continue;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left, in.size()));
    co_await s.tx.bdat_sink->write(in.substr(0, take));
    s.lines.consume(take);
    left -= take;
  }
  s.tx.bdat_size += a.size;
  s.ph = phase::bdat;
  if (!a.last) {
    s.reply(proto::make_reply(250, "2.0.0", std::to_string(a.size) + " octets received"));
    co_return next::keep;
  }
  auto sink = std::move(s.tx.bdat_sink);
  auto r = co_await sink->commit();
  if (r.positive()) {
    ++s.messages;
  }
  s.reply(r);
  s.reset_transaction();
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
