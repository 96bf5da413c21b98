// RCPT TO arguments (RFC 5321 §4.1.1.3) with NOTIFY and ORCPT (RFC 3461
// §4.1–4.2). Input: untrusted. Invariants as for MAIL: decoded values hold
// no control characters; unknown or repeated parameters get 555.
#include "homthu/smtp/proto/command.hpp"

#include "../params.hpp"

namespace homthu::smtp::proto {

using detail::iequals;

result<rcpt_args> parse_rcpt(std::string_view rest, bool utf8_session) {
  if (!detail::istarts_with(rest, "TO:")) {
    return make_reply(501, "5.5.4", "Syntax: RCPT TO:<address>");
  }
  rest.remove_prefix(3);
  while (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
  }
  rcpt_args r;
  std::size_t used = 0;
  path_options opts;
  opts.allow_postmaster = true;
  opts.utf8 = utf8_session;
  auto path = parse_path(rest, opts, used, false);
  if (!path) {
    return path.error();
  }
  r.recipient = std::move(*path);
  r.postmaster = r.recipient.domain.empty();
  auto params = detail::parse_params(rest.substr(used));
  if (!params) {
    return params.error();
  }
  for (const auto& p : *params) {
    if (p.keyword == "NOTIFY") {
      if (!p.has_value) {
        return make_reply(501, "5.5.4", "Invalid NOTIFY parameter");
      }
      r.notify.specified = true;
      std::string_view v = p.value;
      while (!v.empty()) {
        auto comma = v.find(',');
        auto item = v.substr(0, comma);
        if (iequals(item, "NEVER")) {
          r.notify.never = true;
        } else if (iequals(item, "SUCCESS")) {
          r.notify.success = true;
        } else if (iequals(item, "FAILURE")) {
          r.notify.failure = true;
        } else if (iequals(item, "DELAY")) {
          r.notify.delay = true;
        } else {
          return make_reply(501, "5.5.4", "Invalid NOTIFY parameter");
        }
        v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
      }
      // NEVER must appear alone (RFC 3461 §4.1).
      if (r.notify.never && (r.notify.success || r.notify.failure || r.notify.delay)) {
        return make_reply(501, "5.5.4", "NOTIFY=NEVER cannot be combined");
      }
    } else if (p.keyword == "ORCPT") {
      auto v = xtext_decode(p.value);
      // addr-type ";" xtext, at most 500 characters (RFC 3461 §4.2).
      if (!p.has_value || !v || p.value.size() > 500 || v->find(';') == std::string::npos ||
          v->front() == ';') {
        return make_reply(501, "5.5.4", "Invalid ORCPT parameter");
      }
      r.orcpt = std::move(*v);
    } else {
      return make_reply(555, "5.5.4", "Unsupported parameter " + p.keyword);
    }
  }
  return r;
}

}  // namespace homthu::smtp::proto
