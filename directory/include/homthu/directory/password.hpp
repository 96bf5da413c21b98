#pragma once
// Argon2id password hashing (libargon2 with a memory area reused per
// thread; libsodium for salts and comparison). The stored form is the
// crypto_pwhash_str string ("$argon2id$v=19$m=19456,t=2,p=1$salt$hash");
// in LDAP's userPassword it is prefixed with "{ARGON2}", which slapd's
// argon2 module verifies on bind. Each thread that hashes keeps one area of
// the configured memory cost (19 MiB by default) for its next hash.

#include "homthu/common/config.hpp"
#include "homthu/directory/directory.hpp"

#include <string>
#include <string_view>

namespace homthu::directory {

// Errors: invalid_argument (empty or over 1024 bytes), unavailable (out of
// memory for the hash).
result<std::string> hash_password(std::string_view password, const common::argon2_config& cost);
// True only when `hash` is a valid Argon2 string made from `password`.
bool verify_password(std::string_view hash, std::string_view password);
// A random password for generated accounts and app passwords: `groups`
// groups of 4 lowercase letters/digits joined by '-' (no look-alikes).
std::string random_password(int groups = 4);
// Passwords accepted by homthu: 8-1024 bytes, valid UTF-8, no control bytes.
// Returns an empty string when acceptable, else the reason.
std::string password_problem(std::string_view password);

}  // namespace homthu::directory
