// Sessions and the login throttle of the admin console. Trusts nothing the
// client sends: session ids are looked up, never parsed; ids and CSRF tokens
// are 256-bit values from the OS CSPRNG. Invariant: a session past its idle
// or absolute expiry is never returned.
#include "auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace homthu::admin {

std::string encode_bits(std::string_view bytes, std::string_view alphabet, int bits_per_char) {
  const std::uint32_t mask = (1u << bits_per_char) - 1;
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= bits_per_char) {
      bits -= bits_per_char;
      out += alphabet[(acc >> bits) & mask];
    }
  }
  if (bits > 0) {
    out += alphabet[(acc << (bits_per_char - bits)) & mask];
  }
  return out;
}

std::string random_token(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(raw.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed");  // broken invariant: no entropy
  }
  return encode_bits(raw, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 6);
}

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool session_store::expired(const session_data& s, clock_type::time_point now) const {
  return now - s.last_seen >= idle_ || now - s.created >= absolute_;
}

void session_store::sweep(clock_type::time_point now) {
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    it = expired(it->second, now) ? by_id_.erase(it) : std::next(it);
  }
}

session_data session_store::create(session_data who, clock_type::time_point now) {
  who.id = random_token(32);
  who.csrf = random_token(32);
  who.created = now;
  who.last_seen = now;
  std::lock_guard lock(mu_);
  if (by_id_.size() >= max_) {
    sweep(now);
  }
  if (by_id_.size() >= max_) {
    // Still full of live sessions: drop the least recently used one.
    auto oldest = by_id_.begin();
    for (auto it = by_id_.begin(); it != by_id_.end(); ++it) {
      if (it->second.last_seen < oldest->second.last_seen) {
        oldest = it;
      }
    }
    by_id_.erase(oldest);
  }
  by_id_[who.id] = who;
  return who;
}

std::optional<session_data> session_store::touch(std::string_view id, clock_type::time_point now) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return std::nullopt;
  }
  if (expired(it->second, now)) {
    by_id_.erase(it);
    return std::nullopt;
  }
  it->second.last_seen = now;
  return it->second;
}

void session_store::remove(std::string_view id) {
  std::lock_guard lock(mu_);
  if (auto it = by_id_.find(id); it != by_id_.end()) {
    by_id_.erase(it);
  }
}

bool session_store::set_enrol_only(std::string_view id, bool enrol_only) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return false;
  }
  it->second.enrol_only = enrol_only;
  return true;
}

std::size_t session_store::restrict_account_to_enrolment(std::string_view account_id) {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto& [id, s] : by_id_) {
    if (s.account_id == account_id) {
      s.enrol_only = true;
      ++n;
    }
  }
  return n;
}

std::size_t session_store::remove_account(std::string_view account_id) {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (auto it = by_id_.begin(); it != by_id_.end();) {
    if (it->second.account_id == account_id) {
      it = by_id_.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::size_t session_store::size() const {
  std::lock_guard lock(mu_);
  return by_id_.size();
}

std::chrono::seconds login_limiter::wait(window& w, clock_type::time_point now) {
  while (!w.empty() && now - w.front() >= std::chrono::minutes(1)) {
    w.pop_front();
  }
  if (w.size() < limit_) {
    return std::chrono::seconds(0);
  }
  auto left = std::chrono::duration_cast<std::chrono::seconds>(w.front() + std::chrono::minutes(1) - now);
  return std::max(left, std::chrono::seconds(1));
}

std::chrono::seconds login_limiter::blocked_for(std::string_view ip, std::string_view account,
                                                clock_type::time_point now) {
  std::lock_guard lock(mu_);
  std::chrono::seconds out{0};
  if (auto it = by_ip_.find(ip); it != by_ip_.end()) {
    out = std::max(out, wait(it->second, now));
  }
  if (auto it = by_account_.find(account); it != by_account_.end()) {
    out = std::max(out, wait(it->second, now));
  }
  return out;
}

void login_limiter::add(std::map<std::string, window, std::less<>>& m, std::string_view key,
                        clock_type::time_point now) {
  if (m.size() >= max_keys_ && m.find(key) == m.end()) {
    // Bounded memory under a flood of distinct keys: forget idle windows.
    for (auto it = m.begin(); it != m.end();) {
      it = (it->second.empty() || now - it->second.back() >= std::chrono::minutes(1)) ? m.erase(it) : std::next(it);
    }
    if (m.size() >= max_keys_) {
      m.erase(m.begin());
    }
  }
  auto& w = m[std::string(key)];
  w.push_back(now);
  while (w.size() > limit_ + 1) {
    w.pop_front();
  }
}

void login_limiter::failure(std::string_view ip, std::string_view account, clock_type::time_point now) {
  std::lock_guard lock(mu_);
  add(by_ip_, ip, now);
  if (!account.empty()) {
    add(by_account_, account, now);
  }
}

void login_limiter::success(std::string_view account) {
  std::lock_guard lock(mu_);
  if (auto it = by_account_.find(account); it != by_account_.end()) {
    by_account_.erase(it);
  }
}

}  // namespace homthu::admin
