// Argon2id hashing and verification, and random passwords.
// Trusts nothing: verification of a malformed hash is a plain "no".
//
// The Argon2 computation is libargon2's (the library slapd's argon2 module
// verifies our hashes with), driven through argon2_ctx with a memory area
// kept per thread. libsodium's crypto_pwhash maps a fresh area for every
// hash (19 MiB at OWASP's minimum: 4,864 pages, each a page fault the kernel
// must zero), and on this project's virtual machines those faults cost more
// than the hash itself: 90-150 ms a hash against 22 ms with the area reused
// (directory/README.md, "Import"). libsodium still provides the salt, the
// base64 and the constant-time comparison. The stored form is unchanged:
// "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>", as crypto_pwhash_str made it.
#include "homthu/directory/password.hpp"

#include "homthu/directory/ldap_escape.hpp"

#include <argon2.h>
#include <sodium.h>

#include <charconv>
#include <memory>
#include <stdexcept>

namespace homthu::directory {

namespace {

void ensure_sodium() {
  static const int init = sodium_init();
  if (init < 0) {
    throw std::runtime_error("libsodium failed to initialise");
  }
}

constexpr std::size_t salt_bytes = 16;   // as crypto_pwhash_str
constexpr std::size_t hash_bytes = 32;
// Areas up to this size stay with their thread for the next hash; larger
// ones (a hash made with an unusual cost) are given back at once.
constexpr std::size_t keep_area_bytes = 64u << 20;

struct area {
  std::unique_ptr<std::uint8_t[]> memory;
  std::size_t size = 0;
};
thread_local area thread_area;

// libargon2 allocation callbacks: runs on the hashing thread (threads = 1).
int take_area(std::uint8_t** memory, std::size_t bytes) {
  auto& a = thread_area;
  if (a.size < bytes) {
    a.memory.reset();
    a.size = 0;
    a.memory.reset(new (std::nothrow) std::uint8_t[bytes]);
    if (!a.memory) {
      return ARGON2_MEMORY_ALLOCATION_ERROR;
    }
    a.size = bytes;
  }
  *memory = a.memory.get();
  return ARGON2_OK;
}

void give_area(std::uint8_t* /*memory*/, std::size_t bytes) {
  // libargon2 has wiped the blocks by now (its finalize step clears the
  // memory unless told otherwise), so a kept area holds no secrets.
  if (bytes > keep_area_bytes) {
    thread_area = {};
  }
}

// Runs Argon2 (type, t, m KiB, p lanes) into `out`.
bool compute(argon2_type type, std::uint32_t t, std::uint32_t m_kib, std::uint32_t lanes, std::string_view password,
             const std::uint8_t* salt, std::size_t salt_len, std::uint8_t* out, std::size_t out_len) {
  argon2_context c{};
  c.out = out;
  c.outlen = static_cast<std::uint32_t>(out_len);
  // libargon2 does not write the password when ARGON2_FLAG_CLEAR_PASSWORD is off.
  c.pwd = reinterpret_cast<std::uint8_t*>(const_cast<char*>(password.data()));
  c.pwdlen = static_cast<std::uint32_t>(password.size());
  c.salt = const_cast<std::uint8_t*>(salt);
  c.saltlen = static_cast<std::uint32_t>(salt_len);
  c.t_cost = t;
  c.m_cost = m_kib;
  c.lanes = lanes;
  c.threads = 1;
  c.version = ARGON2_VERSION_13;
  c.allocate_cbk = take_area;
  c.free_cbk = give_area;
  c.flags = ARGON2_DEFAULT_FLAGS;
  return argon2_ctx(&c, type) == ARGON2_OK;
}

std::string base64(const std::uint8_t* data, std::size_t len) {
  std::string out(sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING), '\0');
  sodium_bin2base64(out.data(), out.size(), data, len, sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  out.resize(std::char_traits<char>::length(out.c_str()));
  return out;
}

// Decodes unpadded base64 of at most `cap` bytes; false on anything else.
bool unbase64(std::string_view in, std::uint8_t* out, std::size_t cap, std::size_t& len) {
  const char* end = nullptr;
  return sodium_base642bin(out, cap, in.data(), in.size(), nullptr, &len, &end,
                           sodium_base64_VARIANT_ORIGINAL_NO_PADDING) == 0 &&
         end == in.data() + in.size();
}

// Reads "name=<decimal>" at the front of `s` and drops it; false unless the
// number is within [lo, hi].
bool take_param(std::string_view& s, std::string_view name, std::uint32_t lo, std::uint32_t hi, std::uint32_t& v) {
  if (s.substr(0, name.size()) != name) {
    return false;
  }
  s.remove_prefix(name.size());
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p == s.data() || (s.front() == '0' && p - s.data() > 1) || v < lo || v > hi) {
    return false;
  }
  s.remove_prefix(static_cast<std::size_t>(p - s.data()));
  return true;
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
  const auto m_kib = static_cast<std::uint32_t>(cost.mem_limit >> 10);
  const auto t = static_cast<std::uint32_t>(cost.ops_limit);
  std::uint8_t salt[salt_bytes];
  std::uint8_t out[hash_bytes];
  randombytes_buf(salt, sizeof(salt));
  if (!compute(Argon2_id, t, m_kib, 1, password, salt, sizeof(salt), out, sizeof(out))) {
    return make_error_code(error::unavailable);
  }
  std::string h = "$argon2id$v=19$m=" + std::to_string(m_kib) + ",t=" + std::to_string(t) + ",p=1$" +
                  base64(salt, sizeof(salt)) + "$" + base64(out, sizeof(out));
  sodium_memzero(out, sizeof(out));
  return h;
}

bool verify_password(std::string_view hash, std::string_view password) {
  ensure_sodium();
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES || password.size() > 1024) {
    return false;
  }
  // "$argon2id$v=19$m=M,t=T,p=P$SALT$HASH" (or argon2i), as libsodium and
  // libargon2 write it; bounds as libsodium's verifier applies them.
  std::string_view s = hash;
  argon2_type type;
  if (s.substr(0, 10) == "$argon2id$") {
    type = Argon2_id;
    s.remove_prefix(10);
  } else if (s.substr(0, 9) == "$argon2i$") {
    type = Argon2_i;
    s.remove_prefix(9);
  } else {
    return false;
  }
  std::uint32_t version = 0, m = 0, t = 0, p = 0;
  if (!take_param(s, "v=", 19, 19, version) || s.substr(0, 1) != "$") {
    return false;
  }
  s.remove_prefix(1);
  if (!take_param(s, "m=", 8, 4u << 20, m) || !take_param(s, ",t=", 1, 100, t) || !take_param(s, ",p=", 1, 1, p) ||
      s.substr(0, 1) != "$") {
    return false;
  }
  s.remove_prefix(1);
  auto dollar = s.find('$');
  if (dollar == std::string_view::npos) {
    return false;
  }
  std::uint8_t salt[64], expected[64], got[64];
  std::size_t salt_len = 0, hash_len = 0;
  if (!unbase64(s.substr(0, dollar), salt, sizeof(salt), salt_len) || salt_len < 8 ||
      !unbase64(s.substr(dollar + 1), expected, sizeof(expected), hash_len) || hash_len < 16) {
    return false;
  }
  if (!compute(type, t, m, p, password, salt, salt_len, got, hash_len)) {
    return false;
  }
  bool ok = sodium_memcmp(got, expected, hash_len) == 0;
  sodium_memzero(got, sizeof(got));
  return ok;
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
