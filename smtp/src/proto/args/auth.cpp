// AUTH arguments (RFC 4954 §4): mechanism [SP initial-response]. Input:
// untrusted; the response is only checked for base64 characters here and
// decoded by the SASL code (proto/sasl).
#include "homthu/smtp/proto/command.hpp"

#include "../params.hpp"

namespace homthu::smtp::proto {

result<auth_args> parse_auth(std::string_view rest) {
  auth_args a;
  auto sp = rest.find(' ');
  auto mech = rest.substr(0, sp);
  // sasl-mech = 1*20mech-char (RFC 4422 §3.1)
  if (mech.empty() || mech.size() > 20) {
    return make_reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
  }
  for (unsigned char c : mech) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) {
      return make_reply(501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
    }
  }
  a.mechanism = detail::upper(mech);
  if (sp != std::string_view::npos) {
    auto resp = rest.substr(sp + 1);
    if (resp.empty() || resp.find(' ') != std::string_view::npos) {
      return make_reply(501, "5.5.2", "Invalid initial response");
    }
    a.initial_response = std::string(resp);
  }
  return a;
}

}  // namespace homthu::smtp::proto
