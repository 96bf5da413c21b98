#pragma once
// SMTP command lines parsed into values (sans-I/O). One args type per
// command; each is parsed in its own file under smtp/src/proto/args/.
// parse_command() takes one line without its CRLF and returns the command or
// the reply to send (500/501/502/555 with enhanced codes).

#include "homthu/smtp/proto/path.hpp"
#include "homthu/smtp/proto/reply.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace homthu::smtp::proto {

// RFC 5321 §4.5.3.1.4: 512 octets including CRLF; the extensions we offer
// raise it for MAIL (RFC 1870 +26, RFC 3461 +100, RFC 4954 +500) and RCPT
// (RFC 3461 +500), and RFC 4954 §4 allows 12288 for AUTH.
inline constexpr std::size_t max_command_line = 512;
inline constexpr std::size_t max_mail_line = 512 + 26 + 100 + 500 + 32;  // + BODY/SMTPUTF8
inline constexpr std::size_t max_rcpt_line = 512 + 500;
inline constexpr std::size_t max_auth_line = 12288;

enum class body_type { unspecified, seven_bit, eight_bit_mime, binary_mime };
enum class dsn_ret { unspecified, full, headers };

// RFC 3461 §4.1 NOTIFY.
struct dsn_notify {
  bool specified = false;
  bool never = false;
  bool success = false;
  bool failure = false;
  bool delay = false;
};

struct ehlo_args {
  std::string domain;   // as sent: a domain, an address literal, or (leniently) any token
  bool extended = true; // EHLO vs HELO
};

struct mail_args {
  mailbox sender;                      // empty for the null reverse-path "<>"
  std::optional<std::uint64_t> size;   // RFC 1870
  body_type body = body_type::unspecified;  // RFC 6152, RFC 3030
  bool smtputf8 = false;               // RFC 6531
  dsn_ret ret = dsn_ret::unspecified;  // RFC 3461 §4.3
  std::string envid;                   // RFC 3461 §4.4, xtext-decoded
  std::optional<std::string> auth;     // RFC 4954 §5 AUTH=, decoded ("<>" for unknown)
};

struct rcpt_args {
  mailbox recipient;
  bool postmaster = false;             // "<Postmaster>" without a domain
  dsn_notify notify;                   // RFC 3461 §4.1
  std::string orcpt;                   // RFC 3461 §4.2: "rfc822;addr", xtext-decoded
};

struct bdat_args {
  std::uint64_t size = 0;              // RFC 3030 §2
  bool last = false;
};

struct auth_args {
  std::string mechanism;               // upper-cased
  std::optional<std::string> initial_response;  // base64 as sent; "=" means empty
};

struct vrfy_args {
  std::string argument;
};

struct help_args {
  std::string topic;
};

struct data_args {};
struct rset_args {};
struct noop_args {};
struct quit_args {};
struct starttls_args {};
struct expn_args {};

using command = std::variant<ehlo_args, mail_args, rcpt_args, data_args, bdat_args, rset_args,
                             noop_args, quit_args, vrfy_args, help_args, starttls_args, auth_args,
                             expn_args>;

enum class verb { ehlo, helo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, help, starttls, auth, expn, unknown };

// The verb of a line (case-insensitive), without parsing its arguments; used
// to pick a line limit and for the command table.
verb verb_of(std::string_view line);
std::string_view verb_name(verb v);
// The longest line allowed for this verb, CRLF included.
std::size_t max_line_for(verb v);

// `line` excludes CRLF. `utf8_session` is true after MAIL … SMTPUTF8, so
// RCPT may carry UTF-8 addresses (RFC 6531 §3.4).
result<command> parse_command(std::string_view line, bool utf8_session = false);

// Per-command argument parsers (args/*.cpp). `rest` is the text after the
// verb (and the single space following it, if any).
result<ehlo_args> parse_ehlo(std::string_view rest, bool extended);
result<mail_args> parse_mail(std::string_view rest);
result<rcpt_args> parse_rcpt(std::string_view rest, bool utf8_session);
result<bdat_args> parse_bdat(std::string_view rest);
result<auth_args> parse_auth(std::string_view rest);
result<vrfy_args> parse_vrfy(std::string_view rest);
result<help_args> parse_help(std::string_view rest);

// RFC 3461 §4 xtext: "+" 2HEXCHAR for octets outside 33-126 and '+', '='.
// Fails on malformed escapes or when the decoded text holds control characters.
std::optional<std::string> xtext_decode(std::string_view in);
std::string xtext_encode(std::string_view in);

}  // namespace homthu::smtp::proto
