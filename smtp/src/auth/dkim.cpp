// DKIM verification with libopendkim (RFC 6376, RFC 8463); signing is in
// dkim_sign.cpp. Input: messages from the internet and DNS answers
// (untrusted: libopendkim parses both). Invariants: the library handle is
// configured once in the constructor and only read afterwards (libopendkim
// allows one handle across threads then); DNS goes only through the
// injected resolver; a DNS failure is temperror, never fail.
#include "dkim.hpp"

// dkim.h is C and spells bool as _Bool; C++ has no such keyword.
#define _Bool bool
#include <opendkim/dkim.h>
#undef _Bool

#include <cstring>
#include <stdexcept>

namespace homthu::smtp::auth {
namespace {

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

struct dkim_verifier::lib {
  DKIM_LIB* handle = new_lib();
  ~lib() { dkim_close(handle); }
};

dkim_verifier::dkim_verifier(std::shared_ptr<dns_resolver> dns)
    : lib_(std::make_unique<lib>()), dns_(std::move(dns)) {
  dkim_set_key_lookup(lib_->handle, lookup_key);
}

dkim_verifier::~dkim_verifier() = default;

std::unique_ptr<dkim_verifier::pass> dkim_verifier::start() const {
  DKIM_STAT st = DKIM_STAT_OK;
  DKIM* d = dkim_verify(lib_->handle, reinterpret_cast<const unsigned char*>("homthu"), nullptr, &st);
  if (d) {
    dkim_set_user_context(d, dns_.get());
  }
  auto p = std::unique_ptr<pass>(new pass(d));
  p->st_ = d ? DKIM_STAT_OK : st;
  return p;
}

dkim_verifier::pass::~pass() {
  if (d_) {
    dkim_free(static_cast<DKIM*>(d_));
  }
}

void dkim_verifier::pass::feed(std::string_view piece) {
  if (d_ && st_ == DKIM_STAT_OK && !piece.empty()) {
    st_ = dkim_chunk(static_cast<DKIM*>(d_), reinterpret_cast<unsigned char*>(const_cast<char*>(piece.data())),
                     piece.size());
  }
}

dkim_verdict dkim_verifier::verify(std::string_view message) const {
  auto p = start();
  p->feed(message);
  return p->finish();
}

dkim_verdict dkim_verifier::pass::finish() {
  dkim_verdict v;
  if (!d_) {
    return v;
  }
  auto* d = static_cast<DKIM*>(d_);
  DKIM_STAT st = st_;
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
  d_ = nullptr;
  return v;
}

}  // namespace homthu::smtp::auth
