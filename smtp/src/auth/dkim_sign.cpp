// DKIM signing (RFC 6376) with RSA-SHA256 and Ed25519-SHA256 (RFC 8463),
// and the keys: loading them from the configuration and the DNS record that
// publishes them. Input: our own queued messages and keys from the
// configuration (trusted). Invariants: the keys are parsed once, at start-up,
// and only read afterwards, so one signer serves every worker thread; the
// body is hashed in pieces, never copied whole; signing never throws — a
// failure leaves the message unsigned, not stuck.
//
// Why ours and not libopendkim's dkim_sign(): libopendkim 2.11 leaks the
// EVP_PKEY and the signature buffer of every Ed25519 signature (about
// 1.3 KB each, for the life of the process), and parses the PEM key again for
// every message. What it did for us is relaxed canonicalization
// (dkim_canon.cpp, a few dozen lines checked against RFC 6376's example) and
// the tag list; signatures are still checked by libopendkim's verifier and
// python3-dkim in the tests. With two keys the body is hashed once.
#include "dkim.hpp"
#include "dkim_canon.hpp"

#include "homthu/common/address.hpp"
#include "homthu/common/config.hpp"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <array>
#include <ctime>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace homthu::smtp::auth {
namespace {

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

pkey_ptr read_pem(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (!bio) {
    return nullptr;
  }
  pkey_ptr k(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return k;
}

using sha256_digest = std::array<unsigned char, 32>;

class sha256 {
 public:
  sha256() : ctx_(EVP_MD_CTX_new()) { ok_ = ctx_ && EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) == 1; }
  ~sha256() { EVP_MD_CTX_free(ctx_); }
  sha256(const sha256&) = delete;
  sha256& operator=(const sha256&) = delete;
  void update(std::string_view s) { ok_ = ok_ && EVP_DigestUpdate(ctx_, s.data(), s.size()) == 1; }
  bool final(sha256_digest& d) {
    unsigned int n = 0;
    return ok_ && EVP_DigestFinal_ex(ctx_, d.data(), &n) == 1 && n == d.size();
  }

 private:
  EVP_MD_CTX* ctx_;
  bool ok_;
};

// The header fields we sign when present (RFC 6376 §5.4.1 and the MIME
// fields), From once more than it occurs (§8.15), so that a From: added
// later breaks the signature.
constexpr std::string_view signed_fields[] = {
    "from",       "sender",        "reply-to",    "subject",      "date",        "message-id",
    "to",         "cc",            "mime-version", "content-type", "content-transfer-encoding",
    "in-reply-to", "references",   "resent-date", "resent-from",  "resent-to",   "resent-cc",
    "list-id",    "list-help",     "list-unsubscribe", "list-subscribe", "list-post", "list-owner",
    "list-archive"};

// The header section split into fields (each without its final line end),
// and where the body starts.
struct header_section {
  std::map<std::string, std::vector<std::string_view>> fields;  // lower-case name → in order
  std::size_t body = 0;
};

header_section split_header(std::string_view m) {
  header_section h;
  std::size_t field_start = std::string_view::npos;
  std::size_t field_end = 0;
  auto close = [&] {
    if (field_start == std::string_view::npos) {
      return;
    }
    const auto f = m.substr(field_start, field_end - field_start);
    if (const auto colon = f.find(':'); colon != std::string_view::npos) {
      auto name = f.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
        name.remove_suffix(1);
      }
      h.fields[common::to_lower_ascii(name)].push_back(f);
    }
    field_start = std::string_view::npos;
  };
  std::size_t pos = 0;
  while (pos < m.size()) {
    auto nl = m.find('\n', pos);
    const std::size_t next = nl == std::string_view::npos ? m.size() : nl + 1;
    std::size_t end = nl == std::string_view::npos ? m.size() : nl;
    if (end > pos && m[end - 1] == '\r') {
      --end;
    }
    if (end == pos) {  // the empty line: the body follows
      close();
      h.body = next;
      return h;
    }
    if (m[pos] == ' ' || m[pos] == '\t') {
      if (field_start != std::string_view::npos) {
        field_end = end;  // a continuation line
      }
    } else {
      close();
      field_start = pos;
      field_end = end;
    }
    pos = next;
  }
  close();
  h.body = m.size();
  return h;
}

std::optional<sha256_digest> body_hash(std::string_view body) {
  constexpr std::size_t piece = 64 * 1024;
  relaxed_body canon;
  sha256 hash;
  std::string out;
  out.reserve(piece + 1024);
  for (std::size_t at = 0; at < body.size(); at += piece) {
    canon.feed(body.substr(at, piece), out);
    hash.update(out);
    out.clear();
  }
  canon.finish(out);
  hash.update(out);
  sha256_digest d;
  if (!hash.final(d)) {
    return std::nullopt;
  }
  return d;
}

// Appends `token` to the field being built, folding before it when the line
// would pass 78 columns.
void fold_append(std::string& field, std::size_t& column, std::string_view token) {
  if (column + token.size() > 78 && column > 1) {
    field += "\r\n\t";
    column = 1;
  }
  field += token;
  column += token.size();
}

}  // namespace

struct dkim_signer::lib {
  std::vector<pkey_ptr> keys;  // parsed once, parallel to keys_
};

dkim_key load_dkim_key(const std::string& selector, const std::string& path, const std::string& key) {
  std::ifstream f(path);
  if (!f) {
    throw common::config_error(key + ": cannot read " + path);
  }
  std::stringstream ss;
  ss << f.rdbuf();
  dkim_key k;
  k.selector = selector;
  k.pem = ss.str();
  auto pk = read_pem(k.pem);
  if (!pk) {
    throw common::config_error(key + ": " + path + " is not a PEM private key");
  }
  if (EVP_PKEY_id(pk.get()) == EVP_PKEY_ED25519) {
    k.ed25519 = true;
  } else if (EVP_PKEY_id(pk.get()) != EVP_PKEY_RSA || EVP_PKEY_get_bits(pk.get()) < 1024) {
    // RFC 8301 §3.2: RSA keys of at least 1024 bits; we generate 2048.
    throw common::config_error(key + ": " + path + " must be an RSA (>= 1024 bits) or Ed25519 key");
  }
  return k;
}

std::string dkim_txt_record(const std::string& pem) {
  auto pk = read_pem(pem);
  if (!pk) {
    return {};
  }
  if (EVP_PKEY_id(pk.get()) == EVP_PKEY_ED25519) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pk.get(), raw, &len) != 1) {
      return {};
    }
    return "v=DKIM1; k=ed25519; p=" + base64(raw, len);
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(pk.get(), &der);
  if (len <= 0) {
    return {};
  }
  auto out = "v=DKIM1; k=rsa; p=" + base64(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

dkim_signer::dkim_signer(std::vector<dkim_key> keys) : lib_(std::make_unique<lib>()), keys_(std::move(keys)) {
  for (const auto& k : keys_) {
    auto pk = read_pem(k.pem);
    if (!pk) {
      throw common::config_error("DKIM key for selector " + k.selector + " is not a PEM private key");
    }
    lib_->keys.push_back(std::move(pk));
  }
}

dkim_signer::~dkim_signer() = default;

std::string dkim_signer::sign(std::string_view message, const std::string& domain, std::string* error) const {
  auto fail = [&](std::string why) {
    if (error) {
      *error = std::move(why);
    }
    return std::string();
  };
  if (keys_.empty()) {
    return {};
  }
  const auto head = split_header(message);
  const auto bh = body_hash(message.substr(head.body));
  if (!bh) {
    return fail("dkim: SHA-256 of the body failed");
  }

  // h= and the canonical header fields it names: each name once per
  // instance, taken from the bottom up (RFC 6376 §5.4.2).
  std::string h;
  std::string canon_headers;
  for (const auto name : signed_fields) {
    const auto it = head.fields.find(std::string(name));
    std::size_t n = it == head.fields.end() ? 0 : it->second.size();
    for (std::size_t i = n; i > 0; --i) {
      canon_headers += relaxed_header(it->second[i - 1]);
      canon_headers += "\r\n";
    }
    if (name == "from") {
      ++n;  // the oversigned instance hashes as nothing
    }
    for (std::size_t i = 0; i < n; ++i) {
      h += h.empty() ? "" : ":";
      h += name;
    }
  }
  const std::string bh64 = base64(bh->data(), bh->size());
  const std::string t = std::to_string(static_cast<long long>(std::time(nullptr)));

  std::string out;
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    const auto& key = keys_[k];
    EVP_PKEY* pkey = lib_->keys[k].get();
    std::string field = "DKIM-Signature:";
    std::size_t column = field.size();
    fold_append(field, column, std::string(" v=1; a=") + (key.ed25519 ? "ed25519-sha256;" : "rsa-sha256;"));
    fold_append(field, column, " c=relaxed/relaxed;");
    fold_append(field, column, " d=" + domain + ";");
    fold_append(field, column, " s=" + key.selector + ";");
    fold_append(field, column, " t=" + t + ";");
    // h= may be long: fold between names (FWS is allowed around ':').
    std::string_view names = h;
    std::string token = " h=";
    while (!names.empty()) {
      const auto colon = names.find(':');
      token += names.substr(0, colon == std::string_view::npos ? names.size() : colon + 1);
      names.remove_prefix(colon == std::string_view::npos ? names.size() : colon + 1);
      if (names.empty()) {
        token += ";";
      }
      fold_append(field, column, token);
      token.clear();
    }
    fold_append(field, column, " bh=" + bh64 + ";");
    fold_append(field, column, " b=");

    // The signature covers the signed fields and this field with b= empty,
    // without its final CRLF (§3.7).
    sha256 hash;
    hash.update(canon_headers);
    hash.update(relaxed_header(field));
    sha256_digest digest;
    if (!hash.final(digest)) {
      return fail("dkim: SHA-256 of the header failed");
    }
    std::string sig;
    EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new(pkey, nullptr);
    std::size_t siglen = 0;
    bool ok = false;
    if (key.ed25519) {
      // RFC 8463 §3: PureEdDSA over the SHA-256 of the canonical data.
      EVP_MD_CTX* md = EVP_MD_CTX_new();
      ok = md && EVP_DigestSignInit(md, nullptr, nullptr, nullptr, pkey) == 1 &&
           EVP_DigestSign(md, nullptr, &siglen, digest.data(), digest.size()) == 1;
      if (ok) {
        sig.resize(siglen);
        ok = EVP_DigestSign(md, reinterpret_cast<unsigned char*>(sig.data()), &siglen, digest.data(),
                            digest.size()) == 1;
      }
      EVP_MD_CTX_free(md);
    } else {
      // RSASSA-PKCS1-v1_5 with SHA-256 over the same digest.
      ok = pctx && EVP_PKEY_sign_init(pctx) == 1 && EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) == 1 &&
           EVP_PKEY_sign(pctx, nullptr, &siglen, digest.data(), digest.size()) == 1;
      if (ok) {
        sig.resize(siglen);
        ok = EVP_PKEY_sign(pctx, reinterpret_cast<unsigned char*>(sig.data()), &siglen, digest.data(),
                           digest.size()) == 1;
      }
    }
    EVP_PKEY_CTX_free(pctx);
    if (!ok) {
      return fail("dkim: signing with selector " + key.selector + " failed");
    }
    const auto b64 = base64(reinterpret_cast<const unsigned char*>(sig.data()), siglen);
    // The value may be folded anywhere (its FWS is removed by verifiers).
    for (std::size_t at = 0; at < b64.size();) {
      const std::size_t room = column < 76 ? 76 - column : 0;
      if (room == 0) {
        field += "\r\n\t";
        column = 1;
        continue;
      }
      const auto piece = b64.substr(at, room);
      field += piece;
      column += piece.size();
      at += piece.size();
    }
    field += "\r\n";
    out = field + out;
  }
  return out;
}

}  // namespace homthu::smtp::auth
