// Fuzzes SMTP command input as it comes off the socket: line framing
// (line_reader, fed whole and in pieces, which must agree), the command
// parser with its per-verb argument parsers, and the SASL and xtext decoders.
// Beyond "no crash", it checks what the session relies on: nothing parsed
// carries a control character into queue metadata (RELIABILITY.md S12),
// path limits hold (S10), and a reply is always well-formed on the wire.

#include "fuzz_util.hpp"

#include "homthu/smtp/proto/command.hpp"
#include "homthu/smtp/proto/reader.hpp"
#include "homthu/smtp/proto/sasl.hpp"

#include <string>
#include <vector>

namespace {

using namespace homthu::smtp::proto;
using homthu::fuzz::check;
using homthu::fuzz::has_ctl;

struct ev {
  line_reader::kind what;
  std::string line;
  bool operator==(const ev&) const = default;
};

std::vector<ev> frame(const std::vector<std::string_view>& pieces, std::size_t max_line) {
  line_reader r(max_line);
  std::vector<ev> out;
  for (auto p : pieces) {
    r.feed(p);
    for (;;) {
      auto e = r.next();
      if (e.what == line_reader::kind::need_more) {
        break;
      }
      check(e.line.size() < max_line, "line_reader returned a line over its limit");
      out.push_back({e.what, std::string(e.line)});
    }
  }
  return out;
}

void check_reply(const reply& r) {
  check(r.code >= 400 && r.code < 600, "parser error reply is not 4xx/5xx");
  const std::string wire = format(r);
  check(wire.size() >= 2 && wire.substr(wire.size() - 2) == "\r\n", "reply does not end in CRLF");
  for (std::size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\n') {
      check(i > 0 && wire[i - 1] == '\r', "bare LF in a reply");
    }
    if (wire[i] == '\r') {
      check(i + 1 < wire.size() && wire[i + 1] == '\n', "bare CR in a reply");
    }
  }
}

void check_mailbox(const mailbox& m) {
  if (m.empty()) {
    return;
  }
  check(m.local.size() <= max_local_part, "local part over 64 accepted");
  check(m.domain.size() <= max_domain, "domain over 255 accepted");
  check(!has_ctl(m.str()), "control character in a parsed path");
}

void parse_line(std::string_view line, bool utf8) {
  auto r = parse_command(line, utf8);
  if (!r) {
    check_reply(r.error());
    return;
  }
  if (auto* m = std::get_if<mail_args>(&*r)) {
    check_mailbox(m->sender);
    check(!has_ctl(m->envid), "control character in ENVID");
    check(!m->auth || !has_ctl(*m->auth), "control character in AUTH=");
  } else if (auto* rc = std::get_if<rcpt_args>(&*r)) {
    check_mailbox(rc->recipient);
    check(!has_ctl(rc->orcpt), "control character in ORCPT");
  } else if (auto* a = std::get_if<auth_args>(&*r)) {
    if (a->initial_response) {
      auto p = decode_plain(*a->initial_response);
      if (p) {
        check(!p->login.empty() && p->login.size() <= 255, "PLAIN authcid out of bounds");
        check(p->password.size() <= 255, "PLAIN password over 255");
      } else {
        check_reply(p.error());
      }
      auto l = decode_login_step(*a->initial_response);
      if (!l) {
        check_reply(l.error());
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // Framing: whole and in pieces must give the same lines.
  const auto whole = frame({in}, max_auth_line);
  const auto pieces = frame(homthu::fuzz::split(in), max_auth_line);
  check(whole == pieces, "line_reader depends on how the input was split");
  const auto small = frame(homthu::fuzz::split(in, 3), 64);
  (void)small;

  for (const auto& e : whole) {
    if (e.what == line_reader::kind::line) {
      parse_line(e.line, false);
      parse_line(e.line, true);
    }
  }
  // The unframed input as one line too: CR, LF and NUL inside.
  parse_line(in.substr(0, max_auth_line), false);

  // Encoders and decoders round-trip.
  auto b = base64_decode(base64_encode(in));
  check(b && *b == in, "base64 round trip");
  if (!has_ctl(in)) {
    auto x = xtext_decode(xtext_encode(in));
    check(x && *x == in, "xtext round trip");
  }
  if (auto x = xtext_decode(in)) {
    check(!has_ctl(*x), "xtext_decode let a control character through");
  }
  return 0;
}
