// TLS contexts. Policy: TLS 1.2 and 1.3 only; Mozilla "intermediate" cipher
// list for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults, all AEAD); no
// compression, no renegotiation; idle connections release their buffers.
#include "homthu/common/tls.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <sys/stat.h>

namespace homthu::common {

namespace ssl = boost::asio::ssl;

namespace {

constexpr const char* intermediate_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

std::string openssl_error() {
  char buf[256];
  unsigned long e = ERR_get_error();
  if (e == 0) {
    return "unknown OpenSSL error";
  }
  ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

void apply_policy(ssl::context& ctx) {
  SSL_CTX* c = ctx.native_handle();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                             SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_clear_options(c, SSL_OP_CIPHER_SERVER_PREFERENCE);  // Mozilla intermediate: client order
  SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(c, intermediate_ciphers) != 1) {
    throw std::runtime_error("TLS cipher list: " + openssl_error());
  }
}

bool readable(const std::string& path, std::string& why) {
  std::ifstream f(path);
  if (!f) {
    why = std::string(std::strerror(errno));
    return false;
  }
  return true;
}

}  // namespace

std::shared_ptr<ssl::context> make_server_tls_context(const std::string& cert_file,
                                                      const std::string& key_file) {
  std::string why;
  if (cert_file.empty() || !readable(cert_file, why)) {
    throw std::runtime_error("tls.cert " + cert_file + ": cannot read: " + (why.empty() ? "not set" : why));
  }
  if (key_file.empty() || !readable(key_file, why)) {
    throw std::runtime_error("tls.key " + key_file + ": cannot read: " + (why.empty() ? "not set" : why));
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  apply_policy(*ctx);
  SSL_CTX* c = ctx->native_handle();
  ERR_clear_error();
  if (SSL_CTX_use_certificate_chain_file(c, cert_file.c_str()) != 1) {
    throw std::runtime_error("tls.cert " + cert_file + ": " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(c, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("tls.key " + key_file + ": " + openssl_error());
  }
  if (SSL_CTX_check_private_key(c) != 1) {
    throw std::runtime_error("tls.key " + key_file + ": does not match tls.cert " + cert_file);
  }
  SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(c, reinterpret_cast<const unsigned char*>("homthu"), 6);
  return ctx;
}

std::shared_ptr<ssl::context> make_client_tls_context(bool verify) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  apply_policy(*ctx);
  if (verify) {
    ctx->set_default_verify_paths();
    ctx->set_verify_mode(ssl::verify_peer);
  } else {
    ctx->set_verify_mode(ssl::verify_none);
  }
  return ctx;
}

void generate_self_signed(const std::string& cert_file, const std::string& key_file,
                          const std::vector<std::string>& hostnames) {
  auto fail = [](const std::string& what) { throw std::runtime_error("self-signed certificate: " + what + ": " + openssl_error()); };
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  if (!key) {
    fail("key generation");
  }
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
  X509_set_version(x.get(), 2);
  unsigned char serial[16];
  std::ifstream("/dev/urandom", std::ios::binary).read(reinterpret_cast<char*>(serial), sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 3650L * 24 * 3600);
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string cn = hostnames.empty() ? "localhost" : hostnames.front();
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("homthu"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), name);
  std::string san;
  for (const auto& h : hostnames) {
    if (!san.empty()) {
      san += ",";
    }
    bool ip = h.find_first_not_of("0123456789.:") == std::string::npos;
    san += (ip ? "IP:" : "DNS:") + h;
  }
  if (!san.empty()) {
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, san.c_str());
    if (!ext) {
      fail("subjectAltName");
    }
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) {
    fail("signing");
  }
  auto write_pem = [&](const std::string& path, bool is_key) {
    std::string tmp = path + ".tmp";
    mode_t old = umask(is_key ? 077 : 022);
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    umask(old);
    if (!f) {
      throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
    }
    int ok = is_key ? PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr)
                    : PEM_write_X509(f, x.get());
    std::fclose(f);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw std::runtime_error(path + ": cannot write");
    }
  };
  write_pem(key_file, true);
  write_pem(cert_file, false);
}

tls_provider::tls_provider(std::string cert, std::string key)
    : cert_(std::move(cert)), key_(std::move(key)) {
  ctx_ = make_server_tls_context(cert_, key_);
}

std::shared_ptr<ssl::context> tls_provider::current() const {
  std::lock_guard lock(mu_);
  return ctx_;
}

bool tls_provider::reload(std::string& error) {
  try {
    auto fresh = make_server_tls_context(cert_, key_);
    std::lock_guard lock(mu_);
    ctx_ = std::move(fresh);
    return true;
  } catch (const std::exception& e) {
    error = e.what();
    return false;
  }
}

}  // namespace homthu::common
