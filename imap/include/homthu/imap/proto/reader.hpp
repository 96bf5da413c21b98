#pragma once
// Command framing, sans I/O: bytes in, events out. The reader splits the
// client's byte stream into commands, stopping at every literal announcement
// ({N}, {N+}, {N-}, ~{N}) so the session can decide before a single literal
// byte is read: accept it inline (bounded by max_command), stream it out
// (APPEND), or refuse it (RFC 9051 §4.3, RFC 7888).
//
// Trusts nothing: the line part of a command is bounded by max_line, inline
// literals by max_command; an over-long line is reported once and skipped to
// its end without being stored, so memory stays bounded whatever arrives.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace homthu::imap::proto {

struct reader_limits {
  std::size_t max_line = 65536;       // one line of a command, CRLF included
  std::size_t max_command = 65536;    // a whole non-APPEND command, inline literals included
};

class reader {
 public:
  enum class kind {
    need_more,     // feed more bytes
    command,       // text() is a complete command (without its final CRLF)
    literal,       // text() ends with a literal announcement; decide with accept/stream/refuse
    literal_data,  // data() is the next chunk of a streamed literal
    literal_end,   // the streamed literal is complete; the command goes on
    too_long,      // the line exceeded max_line (or the command max_command); it is being skipped
  };

  struct literal_info {
    std::uint64_t size = 0;
    bool sync = true;       // {N}: the client waits for "+"
    bool binary = false;    // ~{N} (RFC 3516 literal8)
  };

  explicit reader(reader_limits limits = {}) : limits_(limits) {}

  void feed(std::string_view bytes);
  kind next();

  // Valid after kind::command and kind::literal.
  std::string_view text() const { return cmd_; }
  // Valid after kind::literal.
  const literal_info& literal() const { return lit_; }
  // Valid after kind::literal_data, until the next call.
  std::string_view data() const { return data_; }

  // True when the announced literal may be read inline into the command.
  bool fits_inline() const { return cmd_.size() + 2 + lit_.size <= limits_.max_command; }
  // The literal's bytes become part of text() ("{N}\r\n" followed by them).
  void accept_literal();
  // The literal's bytes come out as literal_data events; text() is cleared
  // and collects what follows the literal.
  void stream_literal();
  // Forgets the command so far. For a synchronising literal the client sends
  // nothing more of it; a non-synchronising one cannot be refused this way.
  void refuse_literal();

  // After kind::command has been handled: start the next command.
  void next_command();
  // Drops every buffered byte (STARTTLS, RFC 9051 §6.2.1, CVE-2021-33515).
  void discard_input();
  // True when nothing is buffered and no command is in progress.
  bool idle() const;
  std::size_t buffered() const { return in_.size() - pos_; }
  // Frees buffers when idle (an idle connection should cost little).
  void shrink();

 private:
  enum class state { line, decide, literal_inline, literal_stream, skip, done };
  bool parse_announcement();

  reader_limits limits_;
  state state_ = state::line;
  std::string in_;
  std::size_t pos_ = 0;
  std::string cmd_;
  std::size_t line_start_ = 0;   // where the current line begins in cmd_
  literal_info lit_;
  std::uint64_t remaining_ = 0;
  std::string_view data_;
};

}  // namespace homthu::imap::proto
