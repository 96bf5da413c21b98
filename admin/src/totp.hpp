#pragma once
// Time-based one-time passwords (RFC 6238 over RFC 4226 HOTP): HMAC-SHA-1,
// 30-second steps, 6 digits — what every authenticator app reads from an
// otpauth:// URI. Pure functions, no I/O and no clock: callers pass the time.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace homthu::admin::totp {

inline constexpr std::int64_t step_seconds = 30;
inline constexpr int digits = 6;

// RFC 4648 §6 base32, upper case, without padding (authenticator apps take
// it so). decode accepts lower case, spaces and padding; nullopt on other
// characters.
std::string base32_encode(std::string_view bytes);
std::optional<std::string> base32_decode(std::string_view text);

// RFC 4226 §5.3: HOTP value of `counter`, `n_digits` decimal digits with
// leading zeros.
std::string hotp(std::string_view key, std::uint64_t counter, int n_digits = digits);
// RFC 6238 §4.2: the step of a Unix time (T0 = 0).
std::int64_t step_of(std::int64_t unix_seconds);
std::string code_at(std::string_view key, std::int64_t unix_seconds, int n_digits = digits);

// The step a code belongs to, among the current one and one either side
// (RFC 6238 §5.2: allow for clock drift and the time to type), taking only
// steps after `last_used` so that a code, once accepted, is refused again
// (§5.2: "the verifier MUST NOT accept the second attempt of the same OTP").
// `code` may hold spaces ("123 456"). nullopt: no match.
std::optional<std::int64_t> match(std::string_view key, std::string_view code, std::int64_t unix_seconds,
                                  std::int64_t last_used);

// otpauth://totp/<issuer>:<account>?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30
// (the Key Uri Format authenticator apps share).
std::string uri(std::string_view issuer, std::string_view account, std::string_view key);

}  // namespace homthu::admin::totp
