#pragma once
// Outbound SMTP client (RFC 5321 client side) used by the queue runner:
// one connection, one message, several recipients. STARTTLS is used when
// offered (RFC 3207, opportunistic unless the destination requires TLS),
// AUTH PLAIN when a relayhost login is configured, and the content is
// dot-stuffed with stray CR/LF made into CRLF so that nothing we emit can
// end the DATA early at the next hop (S2).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace homthu::smtp::client {

struct reply {
  int code = 0;                 // 0: no reply (connection failure)
  std::string text;             // the whole reply, lines joined with " / "
  bool temporary() const { return code == 0 || (code >= 400 && code < 500); }
  bool ok() const { return code >= 200 && code < 300; }
};

struct envelope {
  std::string sender;           // without <>; empty for <>
  std::vector<std::string> recipients;
  std::string envid;            // RFC 3461, sent when the server offers DSN
  bool ret_full = true;
  bool eight_bit = false;
  bool binary = false;          // BODY=BINARYMIME: sent by BDAT, refused (5.6.3) where not offered
  bool smtputf8 = false;
};

struct options {
  std::string helo;             // our hostname
  std::shared_ptr<boost::asio::ssl::context> tls;  // null: never STARTTLS
  bool require_tls = false;
  std::string auth_user;        // relayhost AUTH PLAIN, empty: none
  std::string auth_password;
  std::chrono::seconds connect_timeout{30};
  std::chrono::seconds command_timeout{300};  // RFC 5321 §4.5.3.2
  std::chrono::seconds data_timeout{600};
};

struct result {
  std::string host;             // the server that answered (for Remote-MTA)
  reply session;                // a failure before RCPT (connect, EHLO, MAIL): applies to all
  std::vector<reply> per_recipient;  // same order as envelope.recipients; final (after DATA) when accepted
  bool connected = false;
};

// Tries each host:port in order until one accepts a connection and gives a
// greeting; delivers there.
boost::asio::awaitable<result> deliver(boost::asio::any_io_executor ex,
                                       const std::vector<std::pair<std::string, unsigned short>>& hosts,
                                       const envelope& env, const std::string& body, const options& opts);

// The content as it goes on the wire after DATA: CRLF line ends (a bare CR or
// LF becomes CRLF), leading dots doubled, and the final ".\r\n".
std::string encode_data(std::string_view body);

}  // namespace homthu::smtp::client
