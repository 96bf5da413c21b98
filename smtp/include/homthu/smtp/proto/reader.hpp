#pragma once
// Sans-I/O input readers for the session: command lines and DATA content.
// They never read from a socket; the session feeds them bytes and acts on
// what they return. Tests feed them one byte at a time and in one piece.

#include <cstdint>
#include <string>
#include <string_view>

namespace homthu::smtp::proto {

// Splits input into command lines. A line ends at LF; a CR right before the
// LF is removed (a bare-LF command line is accepted, as Postfix does; a CR
// anywhere else stays in the line and the command parser refuses it).
// Memory is bounded: a line longer than `max_line` is dropped as it arrives
// and reported once as too_long when its LF comes (RFC 5321 §4.5.3.1.4).
class line_reader {
 public:
  explicit line_reader(std::size_t max_line);

  enum class kind { need_more, line, too_long };
  struct event {
    kind what = kind::need_more;
    std::string_view line;   // valid until the next feed()/consume()/clear()
  };

  void feed(std::string_view bytes);
  event next();
  // Bytes received but not yet returned as lines: what DATA/BDAT read first.
  std::string_view buffered() const { return std::string_view(buf_).substr(pos_); }
  void consume(std::size_t n);
  // Drops everything buffered (STARTTLS: RFC 3207 §4.2, CVE-2011-0411).
  void clear();
  bool empty() const { return pos_ == buf_.size() && !pending_too_long_; }

 private:
  void compact();
  std::size_t max_;
  std::string buf_;
  std::size_t pos_ = 0;
  bool discarding_ = false;
  bool pending_too_long_ = false;
};

// Decodes DATA content (RFC 5321 §4.1.1.4, §4.5.2): ends only at
// <CRLF>.<CRLF> (the CRLF before the dot may be the one that ended the DATA
// command), removes dot-stuffing, and refuses the message if it holds a bare
// CR, a bare LF or a NUL: those are what SMTP smuggling (CVE-2023-51764 and
// siblings) hides a second message behind. A refused message is still read
// to its real end so the session stays in step with the client, and nothing
// after the first problem is written out.
class data_reader {
 public:
  explicit data_reader(std::uint64_t max_size);

  enum class problem { none, bare_cr_lf, nul, too_big };
  struct progress {
    std::size_t consumed = 0;  // bytes of `in` used; the rest is the next command
    bool done = false;         // the end-of-data line was seen
  };

  // Appends decoded content (with CRLF line ends) to `out`.
  progress feed(std::string_view in, std::string& out);
  enum problem problem() const { return problem_; }
  std::uint64_t size() const { return size_; }  // decoded octets, counted past too_big

 private:
  enum class state { bol, text, cr, dot, dot_cr };
  void flag(enum problem p) {
    if (problem_ == problem::none) {
      problem_ = p;
    }
  }
  void emit(std::string& out, std::string_view s);
  std::uint64_t max_;
  std::uint64_t size_ = 0;
  state st_ = state::bol;
  enum problem problem_ = problem::none;
};

}  // namespace homthu::smtp::proto
