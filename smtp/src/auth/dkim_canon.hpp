#pragma once
// DKIM "relaxed" canonicalization (RFC 6376 §3.4.2 and §3.4.4), the part
// of signing that is ours (see dkim_sign.cpp for why).

#include <string>
#include <string_view>

namespace homthu::smtp::auth {

// One header field, `field` as it appears in the message (name, colon,
// value with its folds, without the final CRLF): lower-case name, unfolded
// value, runs of WSP as one SP, no WSP around the colon or at the end.
// The result carries no CRLF.
std::string relaxed_header(std::string_view field);

// The body, fed in pieces of any size (a CR and its LF may be split between
// pieces): runs of WSP as one SP, no WSP at line ends, no empty lines at the
// end, CRLF after the last line. A bare LF ends a line too.
class relaxed_body {
 public:
  void feed(std::string_view piece, std::string& out);
  void finish(std::string& out);

 private:
  void end_line(std::string& out);
  std::string line_;             // the current line, WSP already collapsed
  bool pending_wsp_ = false;     // WSP seen and not yet written into line_
  bool cr_ = false;              // the previous byte was CR
  std::size_t empty_lines_ = 0;  // empty lines held back (they may end the body)
};

}  // namespace homthu::smtp::auth
