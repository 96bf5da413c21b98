// DKIM relaxed canonicalization. Input: our own outgoing messages (already
// in CRLF form, but a bare LF or a lone CR must not break the hash).
// Invariant: the output is exactly what RFC 6376 §3.4.2/§3.4.4 define, so
// that any verifier (libopendkim, python3-dkim, the big mailbox providers)
// computes the same hash; checked against the RFC's own example in
// unit_smtp.
#include "dkim_canon.hpp"

namespace homthu::smtp::auth {
namespace {

bool wsp(char c) { return c == ' ' || c == '\t'; }

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string relaxed_header(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  const auto colon = field.find(':');
  auto name = field.substr(0, colon);
  while (!name.empty() && wsp(name.back())) {
    name.remove_suffix(1);
  }
  for (char c : name) {
    out.push_back(lower(c));
  }
  out.push_back(':');
  if (colon == std::string_view::npos) {
    return out;
  }
  bool space = false;
  bool started = false;  // WSP before the first character of the value goes
  for (char c : field.substr(colon + 1)) {
    if (c == '\r' || c == '\n') {
      continue;  // unfolding removes the CRLF; the WSP after it stays WSP
    }
    if (wsp(c)) {
      space = true;
      continue;
    }
    if (space && started) {
      out.push_back(' ');
    }
    space = false;
    started = true;
    out.push_back(c);
  }
  return out;
}

void relaxed_body::end_line(std::string& out) {
  pending_wsp_ = false;  // WSP at the end of a line is ignored
  if (line_.empty()) {
    ++empty_lines_;
    return;
  }
  for (; empty_lines_ > 0; --empty_lines_) {
    out += "\r\n";
  }
  out += line_;
  out += "\r\n";
  line_.clear();
}

void relaxed_body::feed(std::string_view piece, std::string& out) {
  for (char c : piece) {
    if (cr_) {
      cr_ = false;
      if (c == '\n') {
        end_line(out);
        continue;
      }
      if (pending_wsp_) {
        line_.push_back(' ');
        pending_wsp_ = false;
      }
      line_.push_back('\r');  // a lone CR is an ordinary character
    }
    if (c == '\r') {
      cr_ = true;
    } else if (c == '\n') {
      end_line(out);
    } else if (wsp(c)) {
      pending_wsp_ = true;
    } else {
      if (pending_wsp_) {
        line_.push_back(' ');
        pending_wsp_ = false;
      }
      line_.push_back(c);
    }
  }
}

void relaxed_body::finish(std::string& out) {
  if (cr_) {
    cr_ = false;
    if (pending_wsp_) {
      line_.push_back(' ');
    }
    line_.push_back('\r');
  }
  if (!line_.empty()) {
    end_line(out);  // a last line without CRLF gets one
  }
  empty_lines_ = 0;  // empty lines at the end of the body are ignored
  pending_wsp_ = false;
}

}  // namespace homthu::smtp::auth
