// Argon2id hashing and verification with libsodium, and random passwords.
// Trusts nothing: verification of a malformed hash is a plain "no".
#include "homthu/directory/password.hpp"

#include "homthu/directory/ldap_escape.hpp"

#include <sodium.h>

#include <stdexcept>

namespace homthu::directory {

namespace {

void ensure_sodium() {
  static const int init = sodium_init();
  if (init < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
}

}  // namespace

std::string password_problem(std::string_view password) {
  if (password.size() < 8) {
    return "password must have at least 8 characters";
  }
  if (password.size() > 1024) {
    return "password must not exceed 1024 bytes";
  }
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7f) {
      return "password must not contain control characters";
    }
  }
  if (!is_valid_utf8(password)) {
    return "password must be valid UTF-8";
  }
  return {};
}

result<std::string> hash_password(std::string_view password, const common::argon2_config& cost) {
  ensure_sodium();
  if (password.empty() || password.size() > 1024) {
    return make_error_code(error::invalid_argument);
  }
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost.ops_limit,
                            static_cast<std::size_t>(cost.mem_limit),
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error_code(error::unavailable);
  }
  return std::string(out);
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES || password.size() > 1024) {
    return false;
  }
  std::string h(hash);  // crypto_pwhash_str_verify wants a NUL-terminated string
  return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

std::string random_password(int groups) {
  ensure_sodium();
  // No 0/o, 1/l/i: read aloud over the phone to a commune clerk.
  static constexpr char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  constexpr std::uint32_t n = sizeof(alphabet) - 1;
  std::string out;
  for (int g = 0; g < groups; ++g) {
    if (g > 0) {
      out += '-';
    }
    for (int i = 0; i < 4; ++i) {
      out += alphabet[randombytes_uniform(n)];
    }
  }
  return out;
}

}  // namespace homthu::directory
