#pragma once
// One IMAP connection: the state the RFC describes (not authenticated,
// authenticated, selected, logout), the selected mailbox, and the I/O loop.
//
// Trusts nothing the client sends: every command goes through the framing
// reader (bounded lines and literals) and the command table's state check
// before its handler runs. Invariants:
//  - only the session coroutine writes to the stream; at most one read is in
//    flight (read_task), so a change notification never interleaves with a
//    response;
//  - storage and directory calls run on the worker pool, never on the I/O
//    thread; the change feed only sets a flag on this session's strand;
//  - EXPUNGE responses are sent only where the command table allows them
//    (RFC 9051 §7.5.1), so sequence numbers never shift under the client.

#include "homthu/imap/proto/args.hpp"
#include "homthu/imap/proto/reader.hpp"
#include "homthu/imap/server.hpp"
#include "deflate.hpp"
#include "selected_mailbox.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include "homthu/common/log.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace homthu::imap {

namespace asio = boost::asio;

enum class state : unsigned { not_authenticated = 1, authenticated = 2, selected = 4, logout = 8 };

// What a handler tells the session.
struct reply {
  enum class status { ok, no, bad };
  status st = status::ok;
  std::string text;                   // may start with "[CODE] "
  enum class then { next, close, starttls, compress } action = then::next;
  bool no_tagged = false;             // the handler already wrote its tagged line

  static reply ok(std::string t) { return {status::ok, std::move(t)}; }
  static reply no(std::string t) { return {status::no, std::move(t)}; }
  static reply bad(std::string t) { return {status::bad, std::move(t)}; }
};

struct command {
  std::string tag;
  std::string name;                   // uppercased, "UID FETCH" for UID commands
  bool uid = false;
  proto::lexer& lex;                  // positioned at the arguments
};

class session;
using handler = asio::awaitable<reply> (*)(session&, command&);

// Shared with the change feed and server::stop(); touched only on the
// session's strand (the storage thread posts there).
struct session_control {
  explicit session_control(asio::any_io_executor ex) : wake(ex) {}
  asio::steady_timer wake;
  std::int64_t selected_id = 0;
  bool dirty = false;                 // the selected mailbox changed
  bool stopping = false;
  void notify() { wake.cancel(); }
};

class session {
 public:
  session(server::impl& srv, common::stream& s, const common::connection_info& info);
  ~session();

  asio::awaitable<void> run();

  // --- output -----------------------------------------------------------
  void out(std::string_view text) { out_.append(text); }
  std::string& buffer() { return out_; }
  // Writes the buffered output; false once the connection is gone.
  asio::awaitable<bool> flush();
  // Flushes when the buffer is large (long FETCH responses).
  asio::awaitable<bool> maybe_flush();

  // --- input (handlers that read: AUTHENTICATE, IDLE) ----------------------
  // Next client line (no literal allowed); nullopt when the connection ends.
  asio::awaitable<std::optional<std::string>> read_line();

  // --- blocking work ---------------------------------------------------
  template <class F>
  auto work(F f) {
    return workers().run(std::move(f));
  }
  common::worker_pool& workers();
  storage::store& store();
  directory::directory& dir();
  const common::config& cfg();

  // --- state -------------------------------------------------------------
  state st = state::not_authenticated;
  directory::account account;
  bool utf8 = false;                  // ENABLE UTF8=ACCEPT (RFC 6855)
  bool condstore = false;             // CONDSTORE enabled (explicitly or by use)
  bool qresync = false;               // ENABLE QRESYNC (RFC 7162 §3.2.3)
  bool rev2 = false;                  // ENABLE IMAP4rev2
  std::unique_ptr<selected_mailbox> sel;
  std::vector<std::uint32_t> saved_uids;   // SEARCHRES "$" (RFC 5182)
  bool saved_valid = false;
  unsigned auth_failures = 0;
  const common::connection_info& info;
  common::stream& stream;
  common::log::logger log;

  // \Recent for this message in this session; never once IMAP4rev2 is
  // enabled (RFC 9051 dropped it).
  bool recent(std::uint32_t uid) const { return !rev2 && sel && sel->is_recent(uid); }
  bool tls_active() const;
  bool plaintext_login_allowed() const { return tls_active(); }
  std::string capabilities() const;

  // Decodes a client mailbox name (mUTF-7 or UTF-8) and applies the INBOX
  // rule (case-insensitive, RFC 9051 §5.1). False on an invalid name.
  bool mailbox_name(std::string_view wire, std::string& out) const;
  void append_mailbox(std::string& o, std::string_view name) const;

  // Brings the selected mailbox up to date with storage and writes the
  // untagged EXISTS / FETCH / EXPUNGE (or VANISHED) responses; expunges only
  // when allowed.
  asio::awaitable<void> sync(bool allow_expunge, bool force = false);
  void select(std::unique_ptr<selected_mailbox> m);
  void unselect();
  // Subscribes to the account's change feed (after login).
  void watch_account();
  bool stopping() const { return control_->stopping; }
  // Wakes (IDLE) when the selected mailbox changed or the server stops.
  asio::awaitable<void> wait_event_or_input(bool& input_ready);

  // COMPRESS (RFC 4978).
  bool compression_active() const { return z_ != nullptr; }
  // Client bytes received and not yet taken by a command.
  bool input_buffered() const { return reader_.buffered() > 0 || (z_ && z_->pending()); }
  void drop_buffered_input() { reader_.discard_input(); }

 private:
  asio::awaitable<bool> fill();       // reads more input into reader_
  void start_read();
  asio::awaitable<void> read_task();
  asio::awaitable<bool> dispatch(std::string_view text);
  asio::awaitable<bool> handle_literal();
  asio::awaitable<bool> append(std::string tag, std::string head);
  void write_tagged(const std::string& tag, const reply& r);
  bool count_bad();
  asio::awaitable<bool> do_starttls();
  bool start_compress();
  // Inflates the next piece of compressed input into the reader; false
  // (with a BYE queued) on corrupt data or an inflate bomb.
  bool inflate_input();

  server::impl& srv_;
  proto::reader reader_;
  std::string out_;
  std::unique_ptr<deflate_stream> z_;  // set once COMPRESS DEFLATE is active
  std::string zbuf_;                   // inflated or deflated bytes in transit
  std::shared_ptr<session_control> control_;
  std::unique_ptr<storage::subscription> watch_;
  asio::cancellation_signal read_cancel_;
  std::unique_ptr<char[]> rbuf_;
  std::size_t rbuf_size_ = 0;
  std::size_t read_size_ = 0;          // what the pending read allocates
  bool read_pending_ = false;
  bool read_done_ = false;
  std::size_t read_n_ = 0;
  common::error_code read_ec_;
  bool closed_ = false;
  unsigned bad_commands_ = 0;
};

// Flag names ↔ storage flags.
std::string format_flags(const storage::flags& f, bool recent = false);
// \Seen etc. → system bit; false for an unknown system flag ("\Foo").
bool parse_flags(const std::vector<std::string>& names, storage::flags& out, std::string& error);
// "[CODE] text" for a storage error (RFC 5530 response codes).
reply storage_failure(const boost::system::error_code& ec, std::string_view what);

}  // namespace homthu::imap
