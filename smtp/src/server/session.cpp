// The SMTP session coroutine (RFC 5321). Input: untrusted bytes from the
// network; the directory and storage are trusted. Invariants: every read
// and write runs under a deadline (RFC 5321 §4.5.3.2); no command runs
// unless the command table allows it in the current phase; replies to
// pipelined commands are sent before the next read; bytes received before a
// STARTTLS handshake are discarded (RFC 3207 §4.2); a client that talks
// before the banner, or pipelines past a command that must end a group
// without being authenticated, is disconnected with 554 5.5.0 (S5).
// Exceptions end only this connection.
#include "session.hpp"

#include "delivery.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <variant>

namespace homthu::smtp::detail {

transaction::transaction() = default;
transaction::~transaction() = default;
transaction::transaction(transaction&&) noexcept = default;
transaction& transaction::operator=(transaction&&) noexcept = default;

namespace {

// Bytes already waiting on the socket, where the stream can tell.
template <class S>
std::size_t pending_input(S& s) {
  if constexpr (requires { s.available(); }) {
    return s.available();
  } else {
    return 0;
  }
}

template <class... F>
struct overloaded : F... {
  using F::operator()...;
};
template <class... F>
overloaded(F...) -> overloaded<F...>;

}  // namespace

session::session(server_state& state, common::stream& s, const common::connection_info& i, listener_kind k)
    : st(state), stream(s), info(i), kind(k), rbuf_(16384) {
  log = common::log::logger{}.with("session", info.session_id).with("peer", info.peer_ip);
  trusted = st.is_trusted(info.peer_ip);
}

session::~session() = default;

void session::reply(const proto::reply& r) {
  out_ += proto::format(r);
  last_code = r.code;
  if (!r.detail.empty()) {
    log.info("smtp.reply", {{"code", r.code}, {"detail", r.detail}});
  }
}

void session::reply_raw(std::string bytes, int code) {
  out_ += bytes;
  last_code = code;
}

asio::awaitable<bool> session::flush() {
  if (out_.empty()) {
    co_return true;
  }
  common::error_code ec;
  stream.expires_after(st.svc.cfg.smtp.command_timeout);
  co_await stream.write(asio::buffer(out_), ec);
  out_.clear();
  co_return !ec;
}

asio::awaitable<bool> session::read_more(std::chrono::seconds timeout) {
  if (!co_await flush()) {
    co_return false;
  }
  common::error_code ec;
  stream.expires_after(timeout);
  const auto n = co_await stream.read_some(asio::buffer(rbuf_), ec);
  if (ec || n == 0) {
    if (ec == boost::beast::error::timeout) {
      // RFC 5321 §4.5.3.2. The stream has already closed the socket at its
      // deadline, so there is no 421 to send.
      log.info("smtp.timeout");
    }
    co_return false;
  }
  lines.feed(std::string_view(rbuf_.data(), n));
  co_return true;
}

asio::awaitable<std::optional<std::string>> session::read_line() {
  for (;;) {
    auto ev = lines.next();
    if (ev.what == proto::line_reader::kind::line) {
      co_return std::string(ev.line);
    }
    if (ev.what == proto::line_reader::kind::too_long) {
      co_return std::string("\x01too-long");
    }
    if (!co_await read_more(st.svc.cfg.smtp.command_timeout)) {
      co_return std::nullopt;
    }
  }
}

bool rate_floor::too_slow(session& s, std::uint64_t n) {
  received_ += n;
  const auto& o = s.st.opts;
  const auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started_);
  if (o.min_data_rate == 0 || elapsed <= o.min_data_rate_grace ||
      received_ * 1000 >= o.min_data_rate * static_cast<std::uint64_t>(elapsed.count())) {
    return false;
  }
  s.log.info("smtp.too_slow", {{"received", received_}});
  s.reply(proto::make_reply(421, "4.4.2", s.st.hostname + " Error: timeout exceeded (client too slow)"));
  return true;
}

asio::awaitable<bool> session::skip_bytes(std::uint64_t n) {
  rate_floor floor;
  while (n > 0) {
    auto b = lines.buffered();
    if (b.empty()) {
      if (!co_await read_more(st.svc.cfg.smtp.data_timeout) || floor.too_slow(*this, lines.buffered().size())) {
        co_return false;
      }
      continue;
    }
    const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(n, b.size()));
    lines.consume(take);
    n -= take;
  }
  co_return true;
}

void session::reset_transaction() {
  tx = transaction{};
  if (ph != phase::connected) {
    ph = phase::greeted;
  }
}

std::string session::protocol_name() const {
  // RFC 3848 §1 and RFC 6531 §3.7.3.
  std::string p = tx.mail.smtputf8 ? "UTF8SMTP" : (esmtp ? "ESMTP" : "SMTP");
  if (tx.mail.smtputf8 && !esmtp) {
    p = "UTF8SMTP";
  }
  if (stream.is_tls()) {
    p += "S";
  }
  if (auth) {
    p += "A";
  }
  return p;
}

asio::awaitable<void> session::run() {
  const auto& cfg = st.svc.cfg.smtp;
  log.info("smtp.connect", {{"listener", info.listener}, {"tls", stream.is_tls() ? "yes" : "no"}});
  bool failed = false;
  try {
    if (cfg.greeting_delay.count() > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor);
      t.expires_after(cfg.greeting_delay);
      co_await t.async_wait(asio::use_awaitable);
    }
    if (pending_input(stream) > 0) {
      // S5: talking before the banner is what spam engines do.
      log.info("smtp.early_talker");
      reply(proto::make_reply(554, "5.5.0", "Error: SMTP protocol synchronization"));
      co_await flush();
      co_await stream.close();
      co_return;
    }
    if (!trusted && !st.connection_rate.hit(info.peer_ip, st.opts.connections_per_ip_per_minute)) {
      // RELIABILITY.md A1 (Postfix smtpd_client_connection_rate_limit).
      log.info("smtp.connection_rate_limited");
      reply(proto::make_reply(421, "4.7.0", st.hostname + " Error: too many connections from " + info.peer_ip));
      co_await flush();
      co_await stream.close();
      co_return;
    }
    reply_raw("220 " + st.hostname + " ESMTP homthu\r\n", 220);
    for (;;) {
      auto ev = lines.next();
      if (ev.what == proto::line_reader::kind::need_more) {
        if (!co_await read_more(cfg.command_timeout)) {
          break;
        }
        continue;
      }
      next n = next::keep;
      if (ev.what == proto::line_reader::kind::too_long) {
        reply(proto::make_reply(500, "5.5.2", "Error: line too long"));
      } else {
        n = co_await dispatch(ev.line);
      }
      if (n == next::close) {
        break;
      }
      if (last_code >= 400) {
        ++errors;
        if (errors >= cfg.max_errors) {
          log.info("smtp.too_many_errors", {{"errors", errors}});
          reply(proto::make_reply(421, "4.7.0", st.hostname + " Error: too many errors"));
          break;
        }
      }
      if (st.stopping.load()) {
        reply(proto::make_reply(421, "4.3.2", st.hostname + " Service shutting down"));
        break;
      }
    }
    co_await flush();
  } catch (const std::exception& e) {
    log.error("smtp.session_error", {{"error", e.what()}});
    out_.clear();
    reply(proto::make_reply(421, "4.3.0", st.hostname + " Error: internal error"));
    failed = true;
  }
  if (failed) {
    common::error_code ec;
    stream.expires_after(std::chrono::seconds(5));
    co_await stream.write(asio::buffer(out_), ec);
  }
  stream.expires_after(std::chrono::seconds(5));
  co_await stream.close();
  log.info("smtp.disconnect", {{"messages", messages}, {"errors", errors}});
}

asio::awaitable<next> session::dispatch(std::string_view line) {
  const auto v = proto::verb_of(line);
  const auto* entry = find_command(v);
  const auto mark = out_.size();
  if (entry == nullptr) {
    reply(proto::make_reply(500, "5.5.2", "Error: command not recognized"));
    co_return next::keep;
  }
  auto parsed = proto::parse_command(line, tx.mail.smtputf8);
  if (!parsed) {
    reply(parsed.error());
    co_return next::keep;
  }
  if (entry->junk) {
    ++junk;
    if (junk > st.svc.cfg.smtp.max_junk_commands) {
      // A4: past the junk allowance each such command counts as an error.
      last_code = 0;
      ++errors;
    }
  }
  // The refusals below leave a BDAT chunk unread; it must still be consumed
  // so that its bytes are never taken for commands (RFC 3030 §3).
  auto refuse = [&](const proto::reply& r) -> asio::awaitable<next> {
    if (auto* b = std::get_if<proto::bdat_args>(&*parsed)) {
      if (!co_await skip_bytes(b->size)) {
        co_return next::close;
      }
    }
    reply(r);
    co_return next::keep;
  };
  if (kind == listener_kind::submission && !stream.is_tls() && !entry->before_tls) {
    co_return co_await refuse(proto::make_reply(530, "5.7.0", "Must issue a STARTTLS command first"));
  }
  if ((entry->phases & bit(ph)) == 0) {
    co_return co_await refuse(entry->out_of_phase);
  }
  next n = co_await std::visit(
      overloaded{
          [&](const proto::ehlo_args& a) { return on_ehlo(*this, a); },
          [&](const proto::mail_args& a) { return on_mail(*this, a); },
          [&](const proto::rcpt_args& a) { return on_rcpt(*this, a); },
          [&](const proto::data_args& a) { return on_data(*this, a); },
          [&](const proto::bdat_args& a) { return on_bdat(*this, a); },
          [&](const proto::rset_args& a) { return on_rset(*this, a); },
          [&](const proto::noop_args& a) { return on_noop(*this, a); },
          [&](const proto::quit_args& a) { return on_quit(*this, a); },
          [&](const proto::vrfy_args& a) { return on_vrfy(*this, a); },
          [&](const proto::help_args& a) { return on_help(*this, a); },
          [&](const proto::starttls_args& a) { return on_starttls(*this, a); },
          [&](const proto::auth_args& a) { return on_auth(*this, a); },
          [&](const proto::expn_args& a) { return on_expn(*this, a); },
      },
      *parsed);
  if (n == next::close) {
    co_return n;
  }
  // S5 / RFC 2920 §3.1: commands that end a group must not be followed by
  // more input before their reply; HELO clients were not offered
  // PIPELINING at all. Authenticated and trusted clients are not held to it.
  const bool violated = !lines.empty() && (entry->last_in_pipeline || !esmtp);
  // DATA and BDAT check before their 354 / chunk: what follows the end of
  // the content may be pipelined (RFC 2920 §3.1).
  const bool exempt = v == proto::verb::starttls || v == proto::verb::data || v == proto::verb::bdat;
  if (violated && !auth && !trusted && !exempt) {
    log.info("smtp.pipelining_violation", {{"verb", proto::verb_name(v)}});
    out_.resize(mark);  // replies to earlier commands still go out
    reply(proto::make_reply(554, "5.5.0", "Error: SMTP protocol synchronization"));
    co_return next::close;
  }
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
