// Command line dispatch: finds the verb and hands the rest to the command's
// own args parser. Input: one untrusted line without CRLF. Invariant: every
// line maps to a command or a reply, never to an exception.
#include "homthu/smtp/proto/command.hpp"

#include "params.hpp"

#include <cctype>

namespace homthu::smtp::proto {
namespace detail {

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'a' && c <= 'z') {
      c = static_cast<char>(c - 'a' + 'A');
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) {
      return false;
    }
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

result<std::vector<esmtp_param>> parse_params(std::string_view in) {
  std::vector<esmtp_param> out;
  while (!in.empty()) {
    if (in.front() != ' ') {
      return make_reply(501, "5.5.4", "Syntax error in parameters");
    }
    while (!in.empty() && in.front() == ' ') {
      in.remove_prefix(1);
    }
    if (in.empty()) {
      break;
    }
    auto sp = in.find(' ');
    auto tok = in.substr(0, sp);
    in = sp == std::string_view::npos ? std::string_view{} : in.substr(sp);
    esmtp_param p;
    auto eq = tok.find('=');
    auto key = tok.substr(0, eq);
    // esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
    if (key.empty() || key.front() == '-') {
      return make_reply(501, "5.5.4", "Syntax error in parameters");
    }
    for (unsigned char c : key) {
      if (!std::isalnum(c) && c != '-') {
        return make_reply(501, "5.5.4", "Syntax error in parameters");
      }
    }
    p.keyword = upper(key);
    if (eq != std::string_view::npos) {
      p.has_value = true;
      auto v = tok.substr(eq + 1);
      // esmtp-value = 1*(%d33-60 / %d62-126); UTF-8 is not allowed here.
      if (v.empty()) {
        return make_reply(501, "5.5.4", "Syntax error in parameters");
      }
      for (unsigned char c : v) {
        if (c < 33 || c > 126 || c == '=') {
          return make_reply(501, "5.5.4", "Syntax error in parameters");
        }
      }
      p.value = std::string(v);
    }
    for (const auto& q : out) {
      if (q.keyword == p.keyword) {
        return make_reply(555, "5.5.4", "Parameter " + p.keyword + " repeated");
      }
    }
    if (out.size() >= 16) {
      return make_reply(555, "5.5.4", "Too many parameters");
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace detail

namespace {

struct verb_entry {
  std::string_view name;
  verb v;
};

constexpr verb_entry verbs[] = {
    {"EHLO", verb::ehlo}, {"HELO", verb::helo}, {"MAIL", verb::mail},
    {"RCPT", verb::rcpt}, {"DATA", verb::data}, {"BDAT", verb::bdat},
    {"RSET", verb::rset}, {"NOOP", verb::noop}, {"QUIT", verb::quit},
    {"VRFY", verb::vrfy}, {"HELP", verb::help}, {"STARTTLS", verb::starttls},
    {"AUTH", verb::auth}, {"EXPN", verb::expn},
};

std::string_view word_of(std::string_view line) {
  auto sp = line.find(' ');
  return line.substr(0, sp);
}

reply no_args(std::string_view name) {
  return make_reply(501, "5.5.4", std::string("Syntax: ") + std::string(name) + " takes no arguments");
}

}  // namespace

verb verb_of(std::string_view line) {
  const auto w = word_of(line);
  for (const auto& e : verbs) {
    if (detail::iequals(w, e.name)) {
      return e.v;
    }
  }
  return verb::unknown;
}

std::string_view verb_name(verb v) {
  for (const auto& e : verbs) {
    if (e.v == v) {
      return e.name;
    }
  }
  return "UNKNOWN";
}

std::size_t max_line_for(verb v) {
  switch (v) {
    case verb::mail: return max_mail_line;
    case verb::rcpt: return max_rcpt_line;
    case verb::auth: return max_auth_line;
    default: return max_command_line;
  }
}

result<command> parse_command(std::string_view line, bool utf8_session) {
  const auto v = verb_of(line);
  if (v == verb::unknown) {
    return make_reply(500, "5.5.2", "Command unrecognized");
  }
  if (line.size() + 2 > max_line_for(v)) {
    return make_reply(500, "5.5.2", "Line too long");
  }
  auto rest = line.substr(verb_name(v).size());
  if (!rest.empty()) {
    if (rest.front() != ' ') {
      return make_reply(500, "5.5.2", "Command unrecognized");
    }
    rest.remove_prefix(1);
  }
  // Trailing spaces are tolerated (many clients send them); other control
  // bytes are not.
  while (!rest.empty() && rest.back() == ' ') {
    rest.remove_suffix(1);
  }
  for (unsigned char c : rest) {
    if (c < 0x20 || c == 0x7f) {
      return make_reply(501, "5.5.2", "Control character in command");
    }
  }
  auto wrap = [](auto r) -> result<command> {
    if (!r) {
      return r.error();
    }
    return command{std::move(*r)};
  };
  switch (v) {
    case verb::ehlo: return wrap(parse_ehlo(rest, true));
    case verb::helo: return wrap(parse_ehlo(rest, false));
    case verb::mail: return wrap(parse_mail(rest));
    case verb::rcpt: return wrap(parse_rcpt(rest, utf8_session));
    case verb::bdat: return wrap(parse_bdat(rest));
    case verb::auth: return wrap(parse_auth(rest));
    case verb::vrfy: return wrap(parse_vrfy(rest));
    case verb::help: return wrap(parse_help(rest));
    case verb::data:
      if (!rest.empty()) {
        return no_args("DATA");
      }
      return command{data_args{}};
    case verb::rset:
      if (!rest.empty()) {
        return no_args("RSET");
      }
      return command{rset_args{}};
    case verb::quit:
      if (!rest.empty()) {
        return no_args("QUIT");
      }
      return command{quit_args{}};
    case verb::starttls:
      if (!rest.empty()) {
        return no_args("STARTTLS");
      }
      return command{starttls_args{}};
    case verb::noop: return command{noop_args{}};  // RFC 5321 §4.1.1.9: a parameter is allowed and ignored
    case verb::expn: return command{expn_args{}};
    case verb::unknown: break;
  }
  return make_reply(500, "5.5.2", "Command unrecognized");
}

}  // namespace homthu::smtp::proto
