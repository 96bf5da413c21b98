// Path parsing, RFC 5321 §4.1.2 and RFC 6531 §3.3. Input: untrusted bytes
// from a client's MAIL/RCPT line. Invariants: a parsed mailbox never holds a
// control character, space outside a quoted local part, or '<' '>' outside
// one; its parts respect the §4.5.3.1 limits; nothing here allocates more
// than the input's length.
#include "homthu/smtp/proto/path.hpp"

#include <boost/asio/ip/address.hpp>

#include <cctype>

namespace homthu::smtp::proto {
namespace {

bool is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

// RFC 5322 atext.
bool is_atext(unsigned char c) {
  if (is_alpha(c) || is_digit(c)) {
    return true;
  }
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
    case '|': case '}': case '~':
      return true;
    default:
      return false;
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

reply bad(bool sender, std::string_view why) {
  return make_reply(501, sender ? "5.1.7" : "5.1.3", std::string("Bad address syntax: ") + std::string(why));
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (std::size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) {
        return false;
      }
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF (RFC 3629 §3).
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

bool is_valid_domain(std::string_view d, bool utf8) {
  if (d.empty() || d.size() > max_domain) {
    return false;
  }
  if (utf8 && !is_valid_utf8(d)) {
    return false;
  }
  std::size_t start = 0;
  while (start <= d.size()) {
    auto dot = d.find('.', start);
    if (dot == std::string_view::npos) {
      dot = d.size();
    }
    const auto label = d.substr(start, dot - start);
    // sub-domain = Let-dig [Ldh-str]: no empty label, no leading/trailing '-'.
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (unsigned char c : label) {
      const bool ok = is_alpha(c) || is_digit(c) || c == '-' || (utf8 && c >= 0x80);
      if (!ok) {
        return false;
      }
    }
    start = dot + 1;
    if (dot == d.size()) {
      break;
    }
  }
  return true;
}

bool is_valid_address_literal(std::string_view lit) {
  if (lit.size() < 3 || lit.front() != '[' || lit.back() != ']') {
    return false;
  }
  const auto inner = lit.substr(1, lit.size() - 2);
  boost::system::error_code ec;
  if (inner.size() > 5 && (inner.substr(0, 5) == "IPv6:" || inner.substr(0, 5) == "ipv6:")) {
    auto a = boost::asio::ip::make_address_v6(std::string(inner.substr(5)), ec);
    return !ec && !a.is_v4_mapped();
  }
  boost::asio::ip::make_address_v4(std::string(inner), ec);
  // General-address-literal (Standardized-tag ":" 1*dcontent) names no
  // registered tag besides IPv6, so it is refused.
  return !ec;
}

std::string mailbox::str() const {
  if (local.empty() && domain.empty()) {
    return {};
  }
  std::string out;
  bool needs_quote = local.empty() || local.front() == '.' || local.back() == '.';
  for (std::size_t i = 0; i < local.size() && !needs_quote; ++i) {
    const auto c = static_cast<unsigned char>(local[i]);
    if (c == '.') {
      if (i + 1 < local.size() && local[i + 1] == '.') {
        needs_quote = true;
      }
    } else if (!is_atext(c) && c < 0x80) {
      needs_quote = true;
    }
  }
  if (needs_quote) {
    out.push_back('"');
    for (char c : local) {
      if (c == '"' || c == '\\') {
        out.push_back('\\');
      }
      out.push_back(c);
    }
    out.push_back('"');
  } else {
    out += local;
  }
  if (!domain.empty()) {
    out.push_back('@');
    out += domain;
  }
  return out;
}

std::string mailbox::canonical() const {
  if (domain.empty()) {
    return lower(local);
  }
  return lower(local) + "@" + lower(domain);
}

result<mailbox> parse_path(std::string_view in, const path_options& opts, std::size_t& consumed,
                           bool sender) {
  if (in.empty() || in.front() != '<') {
    return bad(sender, "expected <");
  }
  const auto close = [&]() -> std::size_t {
    // The closing '>' is the first one outside a quoted string.
    bool q = false;
    for (std::size_t i = 1; i < in.size(); ++i) {
      const char c = in[i];
      if (q && c == '\\') {
        ++i;
        continue;
      }
      if (c == '"') {
        q = !q;
      } else if (!q && c == '>') {
        return i;
      }
    }
    return std::string_view::npos;
  }();
  if (close == std::string_view::npos) {
    return bad(sender, "expected >");
  }
  if (close + 1 > max_path) {
    return make_reply(501, sender ? "5.1.7" : "5.1.3", "Path too long");
  }
  consumed = close + 1;
  std::string_view p = in.substr(1, close - 1);
  mailbox m;
  if (p.empty()) {
    if (!opts.allow_null) {
      return bad(sender, "empty path");
    }
    return m;
  }
  for (unsigned char c : p) {
    if (c < 0x20 || c == 0x7f || (c >= 0x80 && !opts.utf8)) {
      return bad(sender, c >= 0x80 ? "8-bit address without SMTPUTF8" : "control character");
    }
  }
  // A-d-l: "@d1,@d2:" is accepted and ignored (RFC 5321 §4.1.1.3, Appendix C).
  if (p.front() == '@') {
    const auto colon = p.find(':');
    if (colon == std::string_view::npos) {
      return bad(sender, "bad source route");
    }
    auto adl = p.substr(0, colon);
    while (!adl.empty()) {
      if (adl.front() != '@') {
        return bad(sender, "bad source route");
      }
      auto comma = adl.find(',');
      auto d = adl.substr(1, comma == std::string_view::npos ? std::string_view::npos : comma - 1);
      if (!is_valid_domain(d, opts.utf8) && !is_valid_address_literal(d)) {
        return bad(sender, "bad source route");
      }
      adl = comma == std::string_view::npos ? std::string_view{} : adl.substr(comma + 1);
    }
    p = p.substr(colon + 1);
  }
  // Local-part.
  std::size_t i = 0;
  if (!p.empty() && p.front() == '"') {
    m.quoted = true;
    i = 1;
    bool closed = false;
    while (i < p.size()) {
      const auto c = static_cast<unsigned char>(p[i]);
      if (c == '\\') {
        if (i + 1 >= p.size()) {
          return bad(sender, "bad quoted string");
        }
        const auto e = static_cast<unsigned char>(p[i + 1]);
        if (e < 32 || e > 126) {
          return bad(sender, "bad quoted pair");
        }
        m.local.push_back(static_cast<char>(e));
        i += 2;
        continue;
      }
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      // qtextSMTP: %d32-33 / %d35-91 / %d93-126, and UTF-8 under SMTPUTF8.
      m.local.push_back(static_cast<char>(c));
      ++i;
    }
    if (!closed) {
      return bad(sender, "unterminated quoted string");
    }
  } else {
    const auto at = p.rfind('@');
    const auto end = at == std::string_view::npos ? p.size() : at;
    const auto local = p.substr(0, end);
    // Dot-string = Atom *("." Atom)
    if (local.empty() || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string_view::npos) {
      return bad(sender, "bad local part");
    }
    for (unsigned char c : local) {
      if (!(c == '.' || is_atext(c) || (opts.utf8 && c >= 0x80))) {
        return bad(sender, "bad local part");
      }
    }
    m.local = std::string(local);
    i = end;
  }
  if (m.local.size() > max_local_part) {
    return make_reply(501, sender ? "5.1.7" : "5.1.3", "Local part too long");
  }
  if (opts.utf8 && !is_valid_utf8(m.local)) {
    return bad(sender, "invalid UTF-8");
  }
  if (i == p.size()) {
    if (opts.allow_postmaster && !m.quoted && lower(m.local) == "postmaster") {
      return m;
    }
    return bad(sender, "missing domain");
  }
  if (p[i] != '@') {
    return bad(sender, "expected @");
  }
  const auto domain = p.substr(i + 1);
  if (domain.size() > max_domain) {
    return make_reply(501, sender ? "5.1.7" : "5.1.3", "Domain too long");
  }
  if (!domain.empty() && domain.front() == '[') {
    if (!is_valid_address_literal(domain)) {
      return bad(sender, "bad address literal");
    }
    m.literal = true;
  } else if (!is_valid_domain(domain, opts.utf8)) {
    return bad(sender, "bad domain");
  }
  m.domain = std::string(domain);
  return m;
}

}  // namespace homthu::smtp::proto
