// SASL decoding. Input: untrusted base64 from AUTH lines. Invariants: no
// output longer than 255 octets per field, no NUL inside a field, and every
// malformed input gets a reply instead of reaching the directory (S8).
#include "homthu/smtp/proto/sasl.hpp"

#include "homthu/smtp/proto/path.hpp"

namespace homthu::smtp::proto {
namespace {

int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

constexpr std::size_t max_field = 255;

}  // namespace

std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const auto c = static_cast<unsigned char>(in[i + k]);
      if (c == '=') {
        // Padding only at the end of the last quantum, in positions 2–3.
        if (i + 4 != in.size() || k < 2) {
          return std::nullopt;
        }
        v[k] = 0;
        ++pad;
      } else {
        if (pad > 0) {
          return std::nullopt;
        }
        v[k] = b64_value(c);
        if (v[k] < 0) {
          return std::nullopt;
        }
      }
    }
    const std::uint32_t n = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
    out.push_back(static_cast<char>((n >> 16) & 0xff));
    if (pad < 2) {
      out.push_back(static_cast<char>((n >> 8) & 0xff));
    }
    if (pad < 1) {
      out.push_back(static_cast<char>(n & 0xff));
    }
  }
  return out;
}

std::string base64_encode(std::string_view in) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  while (i + 3 <= in.size()) {
    const std::uint32_t n = (static_cast<unsigned char>(in[i]) << 16) |
                            (static_cast<unsigned char>(in[i + 1]) << 8) |
                            static_cast<unsigned char>(in[i + 2]);
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(alphabet[(n >> 6) & 63]);
    out.push_back(alphabet[n & 63]);
    i += 3;
  }
  if (i < in.size()) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) {
      n |= static_cast<unsigned char>(in[i + 1]) << 8;
    }
    out.push_back(alphabet[(n >> 18) & 63]);
    out.push_back(alphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? alphabet[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

result<credentials> decode_plain(std::string_view b64) {
  auto raw = base64_decode(b64);
  if (!raw) {
    return make_reply(501, "5.5.2", "Invalid base64 data");
  }
  const std::string_view s = *raw;
  const auto first = s.find('\0');
  const auto second = first == std::string_view::npos ? first : s.find('\0', first + 1);
  if (first == std::string_view::npos || second == std::string_view::npos ||
      s.find('\0', second + 1) != std::string_view::npos) {
    return make_reply(535, "5.7.8", "Authentication credentials invalid");
  }
  const auto authzid = s.substr(0, first);
  const auto authcid = s.substr(first + 1, second - first - 1);
  const auto passwd = s.substr(second + 1);
  if (authcid.empty() || passwd.empty() || authcid.size() > max_field || passwd.size() > max_field ||
      !is_valid_utf8(authcid) || !is_valid_utf8(passwd) || !is_valid_utf8(authzid)) {
    return make_reply(535, "5.7.8", "Authentication credentials invalid");
  }
  if (!authzid.empty() && authzid != authcid) {
    return make_reply(535, "5.7.8", "Authorization identity not permitted");
  }
  return credentials{std::string(authcid), std::string(passwd)};
}

result<std::string> decode_login_step(std::string_view b64) {
  auto raw = base64_decode(b64);
  if (!raw) {
    return make_reply(501, "5.5.2", "Invalid base64 data");
  }
  if (raw->empty() || raw->size() > max_field || raw->find('\0') != std::string::npos ||
      !is_valid_utf8(*raw)) {
    return make_reply(535, "5.7.8", "Authentication credentials invalid");
  }
  return std::move(*raw);
}

}  // namespace homthu::smtp::proto
