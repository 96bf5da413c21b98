#pragma once
// SASL PLAIN (RFC 4616) and LOGIN decoding for SMTP AUTH (RFC 4954), and
// strict base64 (RFC 4648 §4). Pure functions over untrusted input.

#include "homthu/smtp/proto/reply.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace homthu::smtp::proto {

// Strict: the standard alphabet, padding required, no whitespace.
std::optional<std::string> base64_decode(std::string_view in);
std::string base64_encode(std::string_view in);

struct credentials {
  std::string login;
  std::string password;
};

// RFC 4616 §2: [authzid] NUL authcid NUL passwd. Exactly two NULs, a
// non-empty authcid and password of at most 255 octets each, valid UTF-8,
// and an authzid that is empty or equal to the authcid (no proxy login).
// Errors: 501 5.5.2 for bad base64, 535 5.7.8 for a malformed message.
result<credentials> decode_plain(std::string_view base64);
// One LOGIN step (a username or a password), at most 255 octets, UTF-8.
result<std::string> decode_login_step(std::string_view base64);

}  // namespace homthu::smtp::proto
