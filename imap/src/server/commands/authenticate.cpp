// AUTHENTICATE PLAIN (RFC 9051 §6.2.2, RFC 4616) with SASL-IR (RFC 4959).
// The client's base64 and the PLAIN message are untrusted (S8): strict
// base64, exactly two NULs, non-empty authcid, an authzid only when equal to
// the authcid (no proxy login), bounded sizes.
#include "commands.hpp"

namespace homthu::imap::cmd {

namespace {

bool base64_decode(std::string_view in, std::string& out) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (in.size() % 4 != 0) {
    return false;
  }
  out.clear();
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char ch = in[i + static_cast<std::size_t>(k)];
      if (ch == '=') {
        if (i + 4 != in.size() || k < 2) {
          return false;
        }
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) {
        return false;
      }
      v[k] = val(ch);
      if (v[k] < 0) {
        return false;
      }
    }
    std::uint32_t n = (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
                      (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) {
      out.push_back(static_cast<char>((n >> 8) & 0xff));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(n & 0xff));
    }
  }
  return true;
}

}  // namespace

asio::awaitable<reply> authenticate(session& s, command& c) {
  auto a = proto::parse_authenticate(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (!s.plaintext_login_allowed()) {
    co_return reply::no("[PRIVACYREQUIRED] Use STARTTLS first");
  }
  if (a->mechanism != "PLAIN") {
    co_return reply::no("[CANNOT] Unsupported authentication mechanism");
  }
  std::string response;
  if (a->initial) {
    response = *a->initial;
  } else {
    s.out("+ \r\n");
    auto line = co_await s.read_line();
    if (!line) {
      co_return reply::bad("Connection lost");
    }
    response = std::move(*line);
  }
  if (response == "*") {
    co_return reply::bad("Authentication cancelled");
  }
  std::string plain;
  if (response != "=" && (response.size() > 2048 || !base64_decode(response, plain))) {
    co_return reply::bad("Invalid base64");
  }
  // message = [authzid] NUL authcid NUL passwd
  auto n1 = plain.find('\0');
  auto n2 = n1 == std::string::npos ? std::string::npos : plain.find('\0', n1 + 1);
  if (n1 == std::string::npos || n2 == std::string::npos || plain.find('\0', n2 + 1) != std::string::npos) {
    co_return co_await finish_login(s, directory::error::invalid_credentials);
  }
  std::string authz = plain.substr(0, n1);
  std::string authc = plain.substr(n1 + 1, n2 - n1 - 1);
  std::string pass = plain.substr(n2 + 1);
  if (authc.empty() || authc.size() > 255 || pass.empty() || pass.size() > 1024 ||
      (!authz.empty() && authz != authc)) {
    co_return co_await finish_login(s, directory::error::invalid_credentials);
  }
  auto r = co_await s.work([&] { return s.dir().authenticate(authc, pass, directory::service::imap); });
  co_return co_await finish_login(s, std::move(r));
}

}  // namespace homthu::imap::cmd
