// Reply formatting (RFC 5321 §4.2, RFC 2034 §3). Input: reply values built
// by our own code, whose text may quote client data; invariant: the output is
// one or more well-formed reply lines, each ending in CRLF, with no CR, LF or
// other control byte inside a line.
#include "homthu/smtp/proto/reply.hpp"

#include <stdexcept>

namespace homthu::smtp::proto {
namespace {

void append_clean(std::string& out, std::string_view text) {
  for (unsigned char c : text) {
    out.push_back((c < 0x20 || c == 0x7f) ? '?' : static_cast<char>(c));
  }
}

}  // namespace

std::string format(const reply& r) {
  std::string out;
  std::string_view text = r.text;
  const std::string code = std::to_string(r.code);
  for (;;) {
    const auto nl = text.find('\n');
    const bool last = nl == std::string_view::npos;
    out += code;
    out.push_back(last ? ' ' : '-');
    if (!r.enhanced.empty()) {
      out += r.enhanced;
      out.push_back(' ');
    }
    append_clean(out, last ? text : text.substr(0, nl));
    out += "\r\n";
    if (last) {
      break;
    }
    text.remove_prefix(nl + 1);
  }
  return out;
}

std::string format_ehlo(std::string_view greeting, const std::vector<std::string>& keywords) {
  std::string out = "250";
  out.push_back(keywords.empty() ? ' ' : '-');
  append_clean(out, greeting);
  out += "\r\n";
  for (std::size_t i = 0; i < keywords.size(); ++i) {
    out += "250";
    out.push_back(i + 1 == keywords.size() ? ' ' : '-');
    append_clean(out, keywords[i]);
    out += "\r\n";
  }
  return out;
}

void throw_exception_from_error(const reply& r, const boost::source_location&) {
  throw std::logic_error("smtp reply used as value: " + std::to_string(r.code) + " " + r.text);
}

}  // namespace homthu::smtp::proto
