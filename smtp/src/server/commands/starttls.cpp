// STARTTLS (RFC 3207). Input: the command from a plain connection.
// Invariants: anything the client sent after STARTTLS in plain text is
// thrown away before the handshake (RFC 3207 §4.2, CVE-2011-0411, S3); after
// the handshake the session forgets everything it knew (§4.2: EHLO, AUTH
// and the transaction start over).
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_starttls(session& s, const proto::starttls_args&) {
  if (s.stream.is_tls()) {
    s.reply(proto::make_reply(503, "5.5.1", "Error: TLS already active"));
    co_return next::keep;
  }
  if (!s.st.svc.tls) {
    s.reply(proto::make_reply(454, "4.7.0", "TLS not available"));
    co_return next::keep;
  }
  s.reply(proto::make_reply(220, "2.0.0", "Ready to start TLS"));
  if (!co_await s.flush()) {
    co_return next::close;
  }
  if (!s.lines.empty()) {
    s.log.info("smtp.starttls_plaintext_discarded", {{"bytes", s.lines.buffered().size()}});
  }
  s.lines.clear();
  auto ctx = s.st.svc.tls->current();
  common::error_code ec;
  s.stream.expires_after(std::chrono::seconds(30));
  co_await s.stream.start_tls(*ctx, ec);
  if (ec) {
    s.log.info("smtp.tls_failed", {{"error", ec.message()}});
    co_return next::close;
  }
  s.reset_transaction();
  s.ph = phase::connected;
  s.helo.clear();
  s.esmtp = false;
  s.auth.reset();
  s.log.info("smtp.tls", {{"version", s.stream.tls_version()}, {"cipher", s.stream.tls_cipher()}});
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
