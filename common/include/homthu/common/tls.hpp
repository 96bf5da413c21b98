#pragma once
// OpenSSL contexts: TLS 1.2 and 1.3 only, Mozilla "intermediate" ciphers.
// The server context can be reloaded (SIGHUP) without dropping connections:
// connections keep the SSL_CTX they started with (OpenSSL refcounts it), new
// handshakes take the current one.

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace homthu::common {

// Throws std::runtime_error naming the file when cert or key cannot be read
// or do not match.
std::shared_ptr<boost::asio::ssl::context> make_server_tls_context(const std::string& cert_file,
                                                                   const std::string& key_file);
// Client context for outbound SMTP; verifies against the system CA store
// when verify is true.
std::shared_ptr<boost::asio::ssl::context> make_client_tls_context(bool verify);

// Writes a self-signed certificate and key (EC P-256, SAN = hostnames) for
// quickstart and tests. Throws on failure.
void generate_self_signed(const std::string& cert_file, const std::string& key_file,
                          const std::vector<std::string>& hostnames);

class tls_provider {
 public:
  tls_provider(std::string cert, std::string key);
  std::shared_ptr<boost::asio::ssl::context> current() const;
  // Returns false (and keeps the old context) when the new files are bad.
  bool reload(std::string& error);

 private:
  std::string cert_, key_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

}  // namespace homthu::common
