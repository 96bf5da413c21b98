// EHLO / HELO arguments (RFC 5321 §4.1.1.1). Input: untrusted. The name is
// only recorded (Received:) and never trusted; we accept any single token of
// printable ASCII because real clients send names like "my_pc" and the RFC's
// strict Domain syntax buys nothing here.
#include "homthu/smtp/proto/command.hpp"

namespace homthu::smtp::proto {

result<ehlo_args> parse_ehlo(std::string_view rest, bool extended) {
  if (rest.empty()) {
    return make_reply(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
  }
  // Some clients add text after the name; only the first word is the name.
  auto sp = rest.find(' ');
  auto name = rest.substr(0, sp);
  if (name.size() > 255) {
    return make_reply(501, "5.5.4", "Hostname too long");
  }
  for (unsigned char c : name) {
    if (c < 33 || c > 126) {
      return make_reply(501, "5.5.4", "Invalid hostname");
    }
  }
  return ehlo_args{std::string(name), extended};
}

}  // namespace homthu::smtp::proto
