// DKIM signing and verification with libopendkim (RFC 6376, RFC 8463).
// Input: for signing, our own queued messages and keys from the
// configuration (trusted); for verification, messages from the internet and
// DNS answers (untrusted: libopendkim parses both). Invariants: the library
// handle is configured once in the constructor and only read afterwards
// (libopendkim allows one handle across threads then); DNS goes only
// through the injected resolver; a DNS failure is temperror, never fail.
#include "dkim.hpp"

#include "homthu/common/config.hpp"

// dkim.h is C and spells bool as _Bool; C++ has no such keyword.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <fstream>
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

DKIM_LIB* new_lib() {
  DKIM_LIB* l = dkim_init(nullptr, nullptr);
  if (!l) {
    throw std::runtime_error("libopendkim initialisation failed");
  }
  return l;
}

// The libopendkim key callback: the TXT record at
// <selector>._domainkey.<domain> through our resolver (RFC 6376 §3.6.2.2).
DKIM_CBSTAT lookup_key(DKIM* dkim, DKIM_SIGINFO* sig, u_char* buf, size_t buflen) {
  auto* dns = static_cast<dns_resolver*>(dkim_get_user_context(dkim));
  const auto* sel = dkim_sig_getselector(sig);
  const auto* dom = dkim_sig_getdomain(sig);
  if (!dns || !sel || !dom) {
    return DKIM_CBSTAT_ERROR;
  }
  const std::string name =
      std::string(reinterpret_cast<const char*>(sel)) + "._domainkey." + reinterpret_cast<const char*>(dom);
  const auto a = dns->query(name, dns_type::txt);
  if (a.st == dns_answer::status::temperror) {
    return DKIM_CBSTAT_TRYAGAIN;
  }
  if (a.st != dns_answer::status::ok || a.records.empty()) {
    return DKIM_CBSTAT_NOTFOUND;
  }
  const auto& rec = a.records.front();
  if (rec.size() + 1 > buflen) {
    return DKIM_CBSTAT_ERROR;
  }
  std::memcpy(buf, rec.data(), rec.size());
  buf[rec.size()] = '\0';
  return DKIM_CBSTAT_CONTINUE;
}

}  // namespace

struct dkim_signer::lib {
  DKIM_LIB* handle = new_lib();
  ~lib() { dkim_close(handle); }
};

struct dkim_verifier::lib {
  DKIM_LIB* handle = new_lib();
  ~lib() { dkim_close(handle); }
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
  // Sign From: once more than it occurs, so that a From: added later breaks
  // the signature (RFC 6376 §8.15).
  const char* over[] = {"from", nullptr};
  dkim_options(lib_->handle, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS, over, sizeof over);
}

dkim_signer::~dkim_signer() = default;

std::string dkim_signer::sign(std::string_view message, const std::string& domain, std::string* error) const {
  std::string out;
  for (const auto& k : keys_) {
    DKIM_STAT st = DKIM_STAT_OK;
    DKIM* d = dkim_sign(lib_->handle, reinterpret_cast<const unsigned char*>("homthu"), nullptr,
                        reinterpret_cast<dkim_sigkey_t>(const_cast<char*>(k.pem.c_str())),
                        reinterpret_cast<const unsigned char*>(k.selector.c_str()),
                        reinterpret_cast<const unsigned char*>(domain.c_str()), DKIM_CANON_RELAXED,
                        DKIM_CANON_RELAXED, k.ed25519 ? DKIM_SIGN_ED25519SHA256 : DKIM_SIGN_RSASHA256, -1, &st);
    if (!d) {
      if (error) {
        *error = std::string("dkim_sign: ") + dkim_getresultstr(st);
      }
      return {};
    }
    unsigned char* hdr = nullptr;
    std::size_t hlen = 0;
    st = dkim_chunk(d, reinterpret_cast<unsigned char*>(const_cast<char*>(message.data())), message.size());
    if (st == DKIM_STAT_OK) {
      st = dkim_chunk(d, nullptr, 0);
    }
    if (st == DKIM_STAT_OK) {
      st = dkim_eom(d, nullptr);
    }
    constexpr std::size_t prefix = sizeof("DKIM-Signature: ") - 1;
    if (st == DKIM_STAT_OK) {
      st = dkim_getsighdr_d(d, prefix, &hdr, &hlen);
    }
    if (st != DKIM_STAT_OK || !hdr) {
      if (error) {
        const char* e = dkim_geterror(d);
        *error = std::string("dkim: ") + (e ? e : dkim_getresultstr(st));
      }
      dkim_free(d);
      return {};
    }
    // libopendkim folds with bare LF; the message uses CRLF.
    std::string field = "DKIM-Signature: ";
    for (std::size_t i = 0; i < hlen; ++i) {
      if (hdr[i] == '\n') {
        field += "\r\n";
      } else if (hdr[i] != '\r') {
        field.push_back(static_cast<char>(hdr[i]));
      }
    }
    field += "\r\n";
    dkim_free(d);
    out = field + out;
  }
  return out;
}

dkim_verifier::dkim_verifier(std::shared_ptr<dns_resolver> dns)
    : lib_(std::make_unique<lib>()), dns_(std::move(dns)) {
  dkim_set_key_lookup(lib_->handle, lookup_key);
}

dkim_verifier::~dkim_verifier() = default;

dkim_verdict dkim_verifier::verify(std::string_view message) const {
  dkim_verdict v;
  DKIM_STAT st = DKIM_STAT_OK;
  DKIM* d = dkim_verify(lib_->handle, reinterpret_cast<const unsigned char*>("homthu"), nullptr, &st);
  if (!d) {
    return v;
  }
  dkim_set_user_context(d, dns_.get());
  st = dkim_chunk(d, reinterpret_cast<unsigned char*>(const_cast<char*>(message.data())), message.size());
  if (st == DKIM_STAT_OK) {
    st = dkim_chunk(d, nullptr, 0);
  }
  if (st == DKIM_STAT_OK || st == DKIM_STAT_NOSIG) {
    st = dkim_eom(d, nullptr);
  }
  const bool dns_failed = st == DKIM_STAT_CBTRYAGAIN || st == DKIM_STAT_KEYFAIL;
  DKIM_SIGINFO** sigs = nullptr;
  int n = 0;
  if (dkim_getsiglist(d, &sigs, &n) == DKIM_STAT_OK) {
    for (int i = 0; i < n; ++i) {
      DKIM_SIGINFO* s = sigs[i];
      dkim_signature_result r;
      if (const auto* dom = dkim_sig_getdomain(s)) {
        r.domain = reinterpret_cast<const char*>(dom);
      }
      if (const auto* sel = dkim_sig_getselector(s)) {
        r.selector = reinterpret_cast<const char*>(sel);
      }
      const int err = dkim_sig_geterror(s);
      if (DKIM_SIG_CHECK(s)) {
        r.result = "pass";
      } else if (err == DKIM_SIGERROR_KEYFAIL) {
        r.result = "temperror";  // RFC 8601 §2.7.1: DNS could not be consulted
      } else if (err == DKIM_SIGERROR_NOKEY || err == DKIM_SIGERROR_DNSSYNTAX ||
                 (err > DKIM_SIGERROR_OK && err < DKIM_SIGERROR_BADSIG && err != DKIM_SIGERROR_EXPIRED)) {
        r.result = "permerror";
      } else if (err == DKIM_SIGERROR_EXPIRED) {
        r.result = "neutral";
      } else {
        r.result = "fail";
      }
      if (err != DKIM_SIGERROR_OK && !DKIM_SIG_CHECK(s)) {
        if (const char* e = dkim_sig_geterrorstr(err)) {
          r.reason = e;
        }
      } else if (r.result == "fail") {
        r.reason = dkim_sig_getbh(s) != DKIM_SIGBH_MATCH ? "body hash mismatch" : "signature mismatch";
      }
      v.signatures.push_back(std::move(r));
    }
  }
  if (v.signatures.empty() && dns_failed) {
    // The key query failed before libopendkim kept its signature list.
    v.signatures.push_back({"temperror", "", "", "key query failed"});
  }
  dkim_free(d);
  return v;
}

}  // namespace homthu::smtp::auth
