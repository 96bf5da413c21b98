// DATA (RFC 5321 §4.1.1.4). Input: untrusted message content. Invariants:
// the content ends only at <CRLF>.<CRLF> and is refused whole if it holds a
// bare CR, bare LF or NUL (S1, see proto/reader.hpp); content is streamed to
// the spool, never held whole in memory; the 250 is sent only after the
// message is durable (delivery.cpp); a refused or failed message leaves no
// copy behind; a client that sends content before our 354 without being
// authenticated is disconnected (S5).
#include "../delivery.hpp"
#include "../events.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_data(session& s, const proto::data_args&) {
  if (s.tx.rcpts.empty()) {
    s.reply(s.tx.rcpt_attempts == 0 ? proto::make_reply(503, "5.5.1", "Error: need RCPT command")
                                    : proto::make_reply(554, "5.5.1", "Error: no valid recipients"));
    co_return next::keep;
  }
  if (!s.lines.empty() && !s.auth && !s.trusted) {
    s.log.info("smtp.pipelining_violation", {{"verb", "DATA"}});
    s.reply(proto::make_reply(554, "5.5.0", "Error: SMTP protocol synchronization"));
    co_return next::close;
  }
  auto opened = co_await message_sink::open(s);
  if (!opened) {
    log_rejected_message(s, opened.error());
    s.reply(opened.error());
    s.reset_transaction();
    co_return next::keep;
  }
  auto sink = std::move(*opened);
  s.reply_raw("354 End data with <CR><LF>.<CR><LF>\r\n", 354);
  proto::data_reader reader(s.st.svc.cfg.smtp.max_message_size);
  std::string decoded;
  rate_floor floor;
  for (;;) {
    auto in = s.lines.buffered();
    if (in.empty()) {
      if (!co_await s.read_more(s.st.svc.cfg.smtp.data_timeout)) {
        s.log.info("smtp.data_aborted", {{"received", reader.size()}});
        co_return next::close;  // the sink's destructor removes the spool
      }
      if (floor.too_slow(s, s.lines.buffered().size())) {
        co_return next::close;
      }
      continue;
    }
    auto p = reader.feed(in, decoded);
    s.lines.consume(p.consumed);
    if (reader.problem() == proto::data_reader::problem::none && (decoded.size() >= (256u << 10) || p.done)) {
      co_await sink->write(decoded);
      decoded.clear();
    } else if (reader.problem() != proto::data_reader::problem::none) {
      decoded.clear();
    }
    if (p.done) {
      break;
    }
  }
  std::optional<proto::reply> refused;
  switch (reader.problem()) {
    case proto::data_reader::problem::none:
      break;
    case proto::data_reader::problem::bare_cr_lf:
      s.log.info("smtp.bare_cr_lf");
      refused = proto::make_reply(550, "5.6.0", "Message refused: bare CR or LF in message content (RFC 5321 §2.3.8)");
      break;
    case proto::data_reader::problem::nul:
      refused = proto::make_reply(550, "5.6.0", "Message refused: NUL character in message content");
      break;
    case proto::data_reader::problem::too_big:
      refused = proto::make_reply(552, "5.3.4", "Message size exceeds fixed maximum message size");
      break;
  }
  if (refused) {
    log_rejected_message(s, *refused, {}, reader.size());
    s.reply(*refused);
    s.reset_transaction();
    co_return next::keep;
  }
  auto r = co_await sink->commit();
  if (r.positive()) {
    ++s.messages;
  }
  s.reply(r);
  s.reset_transaction();
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
