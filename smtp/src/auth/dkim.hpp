#pragma once
// DKIM (RFC 6376): signing outgoing mail with RSA-SHA256 or Ed25519-SHA256
// (RFC 8463) with OpenSSL (dkim_sign.cpp), and verifying inbound signatures
// through libopendkim with the keys fetched through an injectable resolver
// (dkim.cpp). Everything here is blocking
// CPU work (and DNS on verify): call it on the worker pool.

#include "homthu/smtp/dns.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::smtp::auth {

struct dkim_key {
  std::string selector;
  std::string pem;         // PKCS#8 / PKCS#1 PEM private key
  bool ed25519 = false;    // else RSA
};

// Reads a PEM private key and its type. Throws common::config_error when the
// file is unreadable or is neither RSA (>= 1024 bits) nor Ed25519.
// `key` names the configuration key in error messages.
dkim_key load_dkim_key(const std::string& selector, const std::string& path,
                       const std::string& key = "smtp.dkim_key_file");

class dkim_signer {
 public:
  explicit dkim_signer(std::vector<dkim_key> keys);
  ~dkim_signer();
  dkim_signer(const dkim_signer&) = delete;
  dkim_signer& operator=(const dkim_signer&) = delete;

  // One "DKIM-Signature: …\r\n" field per key, relaxed/relaxed, d=`domain`,
  // to put in front of `message` (CRLF line ends). Empty when signing failed
  // (the error goes to `error`): the message then goes unsigned rather
  // than stuck.
  std::string sign(std::string_view message, const std::string& domain, std::string* error = nullptr) const;
  bool empty() const { return keys_.empty(); }

 private:
  struct lib;
  std::unique_ptr<lib> lib_;
  std::vector<dkim_key> keys_;
};

// RFC 8601 result of one signature.
struct dkim_signature_result {
  std::string result;      // pass, fail, neutral, temperror, permerror, policy
  std::string domain;      // d=
  std::string selector;    // s=
  std::string reason;
};

struct dkim_verdict {
  std::vector<dkim_signature_result> signatures;   // empty: dkim=none
};

class dkim_verifier {
 public:
  explicit dkim_verifier(std::shared_ptr<dns_resolver> dns);
  ~dkim_verifier();
  dkim_verifier(const dkim_verifier&) = delete;
  dkim_verifier& operator=(const dkim_verifier&) = delete;

  // One message fed in pieces of any size, for messages too big to hold in
  // memory. Blocking (DNS for the keys) in feed() and finish().
  class pass {
   public:
    ~pass();
    pass(const pass&) = delete;
    pass& operator=(const pass&) = delete;
    void feed(std::string_view piece);
    dkim_verdict finish();

   private:
    friend class dkim_verifier;
    explicit pass(void* handle) : d_(handle) {}
    void* d_;                 // libopendkim's DKIM*
    int st_ = 0;              // DKIM_STAT of the last call
  };
  std::unique_ptr<pass> start() const;

  // `message`: the whole message as received (CRLF).
  dkim_verdict verify(std::string_view message) const;

 private:
  struct lib;
  std::unique_ptr<lib> lib_;
  std::shared_ptr<dns_resolver> dns_;
};

// The DNS TXT record publishing the public half of `pem`:
// "v=DKIM1; k=rsa; p=<SubjectPublicKeyInfo>" or, for Ed25519 (RFC 8463 §4.2),
// "v=DKIM1; k=ed25519; p=<the raw 32-octet key>". Empty on a bad key.
std::string dkim_txt_record(const std::string& pem);

}  // namespace homthu::smtp::auth
