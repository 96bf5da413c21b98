// RFC 6238 TOTP and RFC 4226 HOTP with OpenSSL's HMAC-SHA-1. Trusts nothing
// in the code a user types (any length, any bytes); compares codes in
// constant time.
#include "totp.hpp"

#include "auth.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace homthu::admin::totp {

namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent(std::string_view s) { return boost::urls::encode(s, boost::urls::unreserved_chars); }

}  // namespace

std::string base32_encode(std::string_view bytes) { return encode_bits(bytes, alphabet, 5); }

std::optional<std::string> base32_decode(std::string_view text) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    if (ch == ' ' || ch == '=' || ch == '-') {
      continue;
    }
    int v;
    if (ch >= 'A' && ch <= 'Z') {
      v = ch - 'A';
    } else if (ch >= 'a' && ch <= 'z') {
      v = ch - 'a';
    } else if (ch >= '2' && ch <= '7') {
      v = ch - '2' + 26;
    } else {
      return std::nullopt;
    }
    acc = (acc << 5) | static_cast<std::uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xFF);
    }
  }
  return out;
}

std::string hotp(std::string_view key, std::uint64_t counter, int n_digits) {
  unsigned char msg[8];
  for (int i = 7; i >= 0; --i) {
    msg[i] = static_cast<unsigned char>(counter & 0xFF);
    counter >>= 8;
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()), msg, sizeof msg, md, &len) || len < 20) {
    throw std::runtime_error("HMAC-SHA-1 failed");  // broken invariant: OpenSSL without SHA-1
  }
  // RFC 4226 §5.3 dynamic truncation.
  const int offset = md[len - 1] & 0x0F;
  const std::uint32_t bin = (static_cast<std::uint32_t>(md[offset] & 0x7F) << 24) |
                            (static_cast<std::uint32_t>(md[offset + 1]) << 16) |
                            (static_cast<std::uint32_t>(md[offset + 2]) << 8) | md[offset + 3];
  std::uint32_t mod = 1;
  for (int i = 0; i < n_digits; ++i) {
    mod *= 10;
  }
  std::string out = std::to_string(bin % mod);
  return std::string(static_cast<std::size_t>(n_digits) - out.size(), '0') + out;
}

std::int64_t step_of(std::int64_t unix_seconds) {
  return unix_seconds >= 0 ? unix_seconds / step_seconds : (unix_seconds - step_seconds + 1) / step_seconds;
}

std::string code_at(std::string_view key, std::int64_t unix_seconds, int n_digits) {
  return hotp(key, static_cast<std::uint64_t>(step_of(unix_seconds)), n_digits);
}

std::optional<std::int64_t> match(std::string_view key, std::string_view code, std::int64_t unix_seconds,
                                  std::int64_t last_used) {
  std::string typed;
  for (char ch : code) {
    if (ch == ' ') {
      continue;
    }
    if (ch < '0' || ch > '9' || typed.size() >= static_cast<std::size_t>(digits)) {
      return std::nullopt;
    }
    typed += ch;
  }
  if (typed.size() != static_cast<std::size_t>(digits)) {
    return std::nullopt;
  }
  const auto now = step_of(unix_seconds);
  std::optional<std::int64_t> found;
  // Every candidate is computed and compared, so the time taken does not
  // tell which step matched.
  for (std::int64_t s = now - 1; s <= now + 1; ++s) {
    auto expected = hotp(key, static_cast<std::uint64_t>(s));
    if (CRYPTO_memcmp(expected.data(), typed.data(), expected.size()) == 0 && s > last_used && !found) {
      found = s;
    }
  }
  return found;
}

std::string uri(std::string_view issuer, std::string_view account, std::string_view key) {
  std::string i = percent(issuer);
  return "otpauth://totp/" + i + ":" + percent(account) + "?secret=" + base32_encode(key) + "&issuer=" + i +
         "&algorithm=SHA1&digits=" + std::to_string(digits) + "&period=" + std::to_string(step_seconds);
}

}  // namespace homthu::admin::totp
