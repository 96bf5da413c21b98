// homthuctl dkim generate DOMAIN [--selector S] [--type rsa|ed25519] --out FILE:
// makes a DKIM signing key (RSA-2048, RFC 8301; or Ed25519, RFC 8463),
// writes it as PEM (mode 0600, never over an existing file) and prints the
// DNS TXT record to publish at S._domainkey.DOMAIN. Trusts the operator's
// arguments; needs no configuration and touches nothing but FILE.

#include "ctl/command.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>

namespace homthu::ctl {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

std::string base64(const unsigned char* p, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  out.resize(static_cast<std::size_t>(
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, static_cast<int>(n))));
  return out;
}

pkey_ptr generate(bool ed25519) {
  EVP_PKEY* k = nullptr;
  if (ed25519) {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  } else {
    k = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  }
  return pkey_ptr(k);
}

// RFC 6376 §3.6.1; RFC 8463 §4.2 (k=ed25519, p= the raw 32-octet key).
std::string txt_record(EVP_PKEY* k, bool ed25519) {
  if (ed25519) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(k, raw, &len) != 1) {
      return {};
    }
    return "v=DKIM1; k=ed25519; p=" + base64(raw, len);
  }
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(k, &der);
  if (len <= 0) {
    return {};
  }
  auto out = "v=DKIM1; k=rsa; p=" + base64(der, static_cast<std::size_t>(len));
  OPENSSL_free(der);
  return out;
}

int usage() {
  std::cerr << "usage: homthuctl dkim generate DOMAIN [--selector S] [--type rsa|ed25519] --out FILE\n";
  return 2;
}

bool valid_label_text(const std::string& s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  for (unsigned char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

int run_dkim(const context&, const std::vector<std::string>& args) {
  if (args.size() < 2 || args[0] != "generate") {
    return usage();
  }
  const std::string domain = args[1];
  std::string selector = "homthu";
  std::string type = "rsa";
  std::string out;
  for (std::size_t i = 2; i < args.size(); ++i) {
    if (i + 1 >= args.size()) {
      return usage();
    }
    if (args[i] == "--selector") {
      selector = args[++i];
    } else if (args[i] == "--type") {
      type = args[++i];
    } else if (args[i] == "--out") {
      out = args[++i];
    } else {
      return usage();
    }
  }
  if (out.empty() || (type != "rsa" && type != "ed25519") || !valid_label_text(domain) ||
      !valid_label_text(selector)) {
    return usage();
  }
  const bool ed = type == "ed25519";
  auto key = generate(ed);
  if (!key) {
    std::cerr << "dkim generate: key generation failed\n";
    return 1;
  }
  const auto record = txt_record(key.get(), ed);
  const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::cerr << "dkim generate: cannot create " << out << ": " << std::strerror(errno) << "\n";
    return 1;
  }
  FILE* f = ::fdopen(fd, "w");
  const bool ok = f && PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1 &&
                  std::fflush(f) == 0 && ::fsync(fd) == 0;
  if (f) {
    std::fclose(f);
  } else {
    ::close(fd);
  }
  if (!ok || record.empty()) {
    std::cerr << "dkim generate: cannot write " << out << "\n";
    ::unlink(out.c_str());
    return 1;
  }
  // One line in zone-file form; the record is under 255 octets for Ed25519
  // but not for RSA-2048, so it is split into quoted strings (RFC 7208 §3.3
  // style; DKIM verifiers join them, RFC 6376 §3.6.2.2).
  std::string quoted;
  for (std::size_t i = 0; i < record.size(); i += 250) {
    quoted += (quoted.empty() ? "" : " ") + ("\"" + record.substr(i, 250) + "\"");
  }
  std::cout << selector << "._domainkey." << domain << ". IN TXT ( " << quoted << " )\n";
  std::cerr << "private key written to " << out << "; set smtp.dkim_selector = \"" << selector
            << "\" and smtp.dkim_key_file = \"" << out << "\"\n";
  return 0;
}

}  // namespace

std::vector<command> dkim_commands() {
  return {{"dkim", "DKIM keys: generate DOMAIN [--selector S] [--type rsa|ed25519] --out FILE", run_dkim}};
}

}  // namespace homthu::ctl
