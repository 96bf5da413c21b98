#pragma once
// One SMTP connection: its state and the I/O the command handlers use. The
// coroutine in session.cpp reads with a deadline, feeds the line reader,
// checks the command table and dispatches to commands/<verb>.cpp.

#include "state.hpp"
#include "../auth/checks.hpp"

#include "homthu/common/address.hpp"
#include "homthu/common/log.hpp"
#include "homthu/smtp/proto/command.hpp"
#include "homthu/smtp/proto/reader.hpp"
#include "homthu/smtp/proto/reply.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace homthu::smtp::detail {

namespace asio = boost::asio;

enum class phase : unsigned { connected = 1, greeted = 2, mail = 4, rcpt = 8, bdat = 16 };
inline constexpr unsigned any_phase = 31;
inline constexpr unsigned bit(phase p) { return static_cast<unsigned>(p); }

// What a handler tells the session to do next.
enum class next { keep, close };

struct accepted_rcpt {
  proto::rcpt_args args;
  std::string address;                 // canonical
  bool local = false;
  directory::recipient resolved;       // when local
};

class message_sink;

struct transaction {
  proto::mail_args mail;
  std::string trace;                   // "<session id>.<n>": the queue id we answer and log under
  std::vector<accepted_rcpt> rcpts;
  unsigned rcpt_attempts = 0;
  std::unique_ptr<message_sink> bdat_sink;  // open between BDAT chunks
  std::uint64_t bdat_size = 0;
  transaction();
  ~transaction();
  transaction(transaction&&) noexcept;
  transaction& operator=(transaction&&) noexcept;
};

class session {
 public:
  session(server_state& st, common::stream& s, const common::connection_info& info, listener_kind kind);
  ~session();

  asio::awaitable<void> run();

  // Queues a reply; it is sent before the next read (RFC 2920 §3.1 lets the
  // server batch replies to pipelined commands).
  void reply(const proto::reply& r);
  void reply_raw(std::string bytes, int code);
  asio::awaitable<bool> flush();
  // Reads more input into `lines`; false on end of stream, error or timeout.
  asio::awaitable<bool> read_more(std::chrono::seconds timeout);
  // The next input line (AUTH continuations); nullopt when the connection ended.
  asio::awaitable<std::optional<std::string>> read_line();
  // Reads and drops `n` octets (a refused BDAT's chunk). False on disconnect.
  asio::awaitable<bool> skip_bytes(std::uint64_t n);

  void reset_transaction();
  bool relay_allowed() const { return auth.has_value() || trusted; }
  bool submission() const { return kind != listener_kind::mx; }
  std::string protocol_name() const;  // RFC 3848 / RFC 6531 "with" keyword

  server_state& st;
  common::stream& stream;
  const common::connection_info& info;
  listener_kind kind;
  common::log::logger log;
  proto::line_reader lines{proto::max_auth_line};
  phase ph = phase::connected;
  std::string helo;
  bool esmtp = false;
  bool trusted = false;
  std::optional<directory::auth_result> auth;
  std::string auth_login;
  transaction tx;
  unsigned errors = 0;
  unsigned junk = 0;
  unsigned auth_failures = 0;
  unsigned messages = 0;
  unsigned transactions = 0;           // MAIL FROM accepted, numbering tx.trace
  // The client's iprev (RFC 8601 §2.7.3): looked up once per connection,
  // at the first RCPT that needs it or at the first message's checks.
  std::optional<auth::iprev_result> iprev;
  int last_code = 0;

 private:
  asio::awaitable<next> dispatch(std::string_view line);
  std::string out_;
  std::vector<char> rbuf_;
};

// A2: a client trickling content holds a connection and a spool. Past
// smtp.min_data_rate_grace it must average smtp.min_data_rate octets per
// second: one floor per DATA and one per BDAT chunk (refused chunks too).
class rate_floor {
 public:
  rate_floor() : started_(std::chrono::steady_clock::now()) {}
  // Counts `n` more octets read; when the client is now too slow, queues
  // `421 4.4.2`, logs it and answers true: the caller closes the session.
  bool too_slow(session& s, std::uint64_t n);

 private:
  std::chrono::steady_clock::time_point started_;
  std::uint64_t received_ = 0;
};

// True when the authenticated user may use `canonical` as a sender
// (own address, alias, send_as): commands/mail.cpp.
bool sender_owned(const session& s, const std::string& canonical);

// Command handlers, one file each under commands/.
asio::awaitable<next> on_ehlo(session& s, const proto::ehlo_args& a);
asio::awaitable<next> on_mail(session& s, const proto::mail_args& a);
asio::awaitable<next> on_rcpt(session& s, const proto::rcpt_args& a);
asio::awaitable<next> on_data(session& s, const proto::data_args& a);
asio::awaitable<next> on_bdat(session& s, const proto::bdat_args& a);
asio::awaitable<next> on_rset(session& s, const proto::rset_args& a);
asio::awaitable<next> on_noop(session& s, const proto::noop_args& a);
asio::awaitable<next> on_quit(session& s, const proto::quit_args& a);
asio::awaitable<next> on_vrfy(session& s, const proto::vrfy_args& a);
asio::awaitable<next> on_help(session& s, const proto::help_args& a);
asio::awaitable<next> on_starttls(session& s, const proto::starttls_args& a);
asio::awaitable<next> on_auth(session& s, const proto::auth_args& a);
asio::awaitable<next> on_expn(session& s, const proto::expn_args& a);

// The command table (command_table.cpp): what each verb may do when.
struct command_entry {
  proto::verb verb;
  unsigned phases;          // phases in which the command is accepted
  bool before_tls;          // allowed on submission before STARTTLS (RFC 3207 §4, RFC 8314)
  bool last_in_pipeline;    // RFC 2920 §3.1: must end a pipelined group
  bool junk;                // counts toward max_junk_commands (A4)
  proto::reply out_of_phase;
};
const command_entry* find_command(proto::verb v);

}  // namespace homthu::smtp::detail
