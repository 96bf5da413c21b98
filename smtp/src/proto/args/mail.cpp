// MAIL FROM arguments (RFC 5321 §4.1.1.2) with SIZE (RFC 1870), BODY (RFC
// 6152, RFC 3030), SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461) and AUTH (RFC
// 4954 §5). Input: untrusted. Invariants: no decoded value holds a control
// character (so none can reach a header or queue record), numbers never
// overflow, and unknown or repeated parameters are refused with 555.
#include "homthu/smtp/proto/command.hpp"

#include "../params.hpp"

#include <charconv>

namespace homthu::smtp::proto {

using detail::iequals;

std::optional<std::string> xtext_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    const auto c = static_cast<unsigned char>(in[i]);
    if (c == '+') {
      if (i + 2 >= in.size()) {
        return std::nullopt;
      }
      auto hex = [](unsigned char h) -> int {
        if (h >= '0' && h <= '9') {
          return h - '0';
        }
        if (h >= 'A' && h <= 'F') {
          return h - 'A' + 10;
        }
        return -1;  // RFC 3461 §4: HEXCHAR is upper-case only
      };
      const int hi = hex(static_cast<unsigned char>(in[i + 1]));
      const int lo = hex(static_cast<unsigned char>(in[i + 2]));
      if (hi < 0 || lo < 0) {
        return std::nullopt;
      }
      const auto d = static_cast<unsigned char>(hi * 16 + lo);
      if (d < 0x20 || d == 0x7f) {
        return std::nullopt;  // S12: CR/LF and other controls never decode
      }
      out.push_back(static_cast<char>(d));
      i += 2;
    } else if (c < 33 || c > 126 || c == '=') {
      return std::nullopt;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

std::string xtext_encode(std::string_view in) {
  static constexpr char hexd[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (c < 33 || c > 126 || c == '+' || c == '=') {
      out.push_back('+');
      out.push_back(hexd[c >> 4]);
      out.push_back(hexd[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

result<mail_args> parse_mail(std::string_view rest) {
  if (!detail::istarts_with(rest, "FROM:")) {
    return make_reply(501, "5.5.4", "Syntax: MAIL FROM:<address>");
  }
  rest.remove_prefix(5);
  // "MAIL FROM: <a@b>" is not RFC 5321 syntax but common; accept it.
  while (!rest.empty() && rest.front() == ' ') {
    rest.remove_prefix(1);
  }
  mail_args m;
  // SMTPUTF8 changes what the path may contain, so look for it first.
  {
    auto pos = rest.find('>');
    auto tail = pos == std::string_view::npos ? std::string_view{} : rest.substr(pos + 1);
    std::size_t i = 0;
    while (i < tail.size()) {
      auto sp = tail.find(' ', i);
      auto tok = tail.substr(i, sp == std::string_view::npos ? std::string_view::npos : sp - i);
      if (iequals(tok, "SMTPUTF8")) {
        m.smtputf8 = true;
      }
      if (sp == std::string_view::npos) {
        break;
      }
      i = sp + 1;
    }
  }
  std::size_t used = 0;
  path_options opts;
  opts.allow_null = true;
  opts.utf8 = m.smtputf8;
  auto path = parse_path(rest, opts, used, true);
  if (!path) {
    return path.error();
  }
  m.sender = std::move(*path);
  auto params = detail::parse_params(rest.substr(used));
  if (!params) {
    return params.error();
  }
  for (const auto& p : *params) {
    if (p.keyword == "SIZE") {
      std::uint64_t n = 0;
      const auto* b = p.value.data();
      const auto* e = b + p.value.size();
      auto [ptr, ec] = std::from_chars(b, e, n);
      if (!p.has_value || ec != std::errc{} || ptr != e || p.value.size() > 20) {
        return make_reply(501, "5.5.4", "Invalid SIZE parameter");
      }
      m.size = n;
    } else if (p.keyword == "BODY") {
      if (iequals(p.value, "7BIT")) {
        m.body = body_type::seven_bit;
      } else if (iequals(p.value, "8BITMIME")) {
        m.body = body_type::eight_bit_mime;
      } else if (iequals(p.value, "BINARYMIME")) {
        m.body = body_type::binary_mime;
      } else {
        return make_reply(501, "5.5.4", "Unsupported BODY type");
      }
    } else if (p.keyword == "SMTPUTF8") {
      if (p.has_value) {
        return make_reply(501, "5.5.4", "SMTPUTF8 takes no value");
      }
    } else if (p.keyword == "RET") {
      if (iequals(p.value, "FULL")) {
        m.ret = dsn_ret::full;
      } else if (iequals(p.value, "HDRS")) {
        m.ret = dsn_ret::headers;
      } else {
        return make_reply(501, "5.5.4", "Invalid RET parameter");
      }
    } else if (p.keyword == "ENVID") {
      auto v = xtext_decode(p.value);
      // RFC 3461 §4.4: at most 100 characters.
      if (!p.has_value || !v || p.value.size() > 100) {
        return make_reply(501, "5.5.4", "Invalid ENVID parameter");
      }
      m.envid = std::move(*v);
    } else if (p.keyword == "AUTH") {
      auto v = xtext_decode(p.value);
      if (!p.has_value || !v || v->size() > max_path) {
        return make_reply(501, "5.5.4", "Invalid AUTH parameter");
      }
      m.auth = std::move(*v);
    } else {
      return make_reply(555, "5.5.4", "Unsupported parameter " + p.keyword);
    }
  }
  return m;
}

}  // namespace homthu::smtp::proto
