// EHLO / HELO (RFC 5321 §4.1.1.1). Input: the client's name, recorded only.
// Resets any transaction. The keyword list depends on the port and on TLS:
// STARTTLS only while plain; AUTH only on submission ports and only over TLS
// (RFC 4954 §4, S7); never AUTH on port 25.
#include "../session.hpp"

namespace homthu::smtp::detail {

asio::awaitable<next> on_ehlo(session& s, const proto::ehlo_args& a) {
  s.reset_transaction();
  s.helo = a.domain;
  s.esmtp = a.extended;
  s.ph = phase::greeted;
  const std::string greeting = s.st.hostname + " Hello " + a.domain;
  if (!a.extended) {
    // RFC 2034 §3: no enhanced code on the reply to HELO.
    s.reply_raw("250 " + s.st.hostname + "\r\n", 250);
    co_return next::keep;
  }
  std::vector<std::string> kw = {
      "PIPELINING",                                                    // RFC 2920
      "SIZE " + std::to_string(s.st.svc.cfg.smtp.max_message_size),   // RFC 1870
      "8BITMIME",                                                      // RFC 6152
      "SMTPUTF8",                                                      // RFC 6531
      "ENHANCEDSTATUSCODES",                                           // RFC 2034
      "CHUNKING",                                                      // RFC 3030
      "BINARYMIME",                                                    // RFC 3030
      "DSN",                                                           // RFC 3461
  };
  const bool tls_possible = s.st.svc.tls != nullptr && s.kind != listener_kind::submissions;
  if (!s.stream.is_tls() && tls_possible) {
    kw.emplace_back("STARTTLS");                                       // RFC 3207
  }
  if (s.submission() && s.stream.is_tls() && !s.auth) {
    kw.emplace_back("AUTH PLAIN LOGIN");                               // RFC 4954, RFC 4616
  }
  s.reply_raw(proto::format_ehlo(greeting, kw), 250);
  co_return next::keep;
}

}  // namespace homthu::smtp::detail
