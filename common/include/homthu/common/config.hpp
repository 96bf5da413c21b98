#pragma once
// homthu.toml, loaded and validated once at start-up. An unknown key, a wrong
// type or a bad value is an error naming `file:line: key: reason`; there are
// no silent defaults for bad values (absent keys take the documented default).
// packaging/homthu.toml.example documents every key.

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace homthu::common {

using seconds = std::chrono::seconds;

struct config_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct server_config {
  std::string hostname = "localhost";            // EHLO name, Received: by
  std::vector<std::string> domains;               // local mail domains
  std::string data_dir = "/var/lib/homthu";
  std::string user;                               // drop privileges to this user after binding
  unsigned io_threads = 0;                        // 0: one per core
  unsigned worker_threads = 16;                   // blocking pool (LDAP, SQLite, Argon2)
  seconds shutdown_grace{30};
};

struct log_config {
  std::string level = "info";
  std::string file;                               // empty: stderr
};

struct tls_config {
  std::string cert;                               // PEM chain
  std::string key;                                // PEM private key
};

// Each listener takes zero or more "host:port" / "[v6]:port" addresses.
struct listen_config {
  std::vector<std::string> smtp;                  // MX, port 25
  std::vector<std::string> submission;            // 587, STARTTLS
  std::vector<std::string> smtps;                 // 465, implicit TLS
  std::vector<std::string> imap;                  // 143, STARTTLS
  std::vector<std::string> imaps;                 // 993, implicit TLS
  std::vector<std::string> admin;                 // HTTPS console and API
  std::vector<std::string> admin_http;            // plain HTTP: redirects to HTTPS
};

struct limits_config {
  unsigned max_connections = 20000;               // per listener
  unsigned max_connections_per_ip = 50;           // per listener
  unsigned tls_handshakes_per_second = 200;       // per listener, A5
};

struct ldap_config {
  std::string uri = "ldap://127.0.0.1:389";
  std::string base_dn = "dc=thainguyen,dc=gov,dc=vn";
  std::string bind_dn;
  std::string bind_password;                      // prefer bind_password_file
  std::string bind_password_file;
  unsigned pool_size = 4;
  seconds timeout{5};
  seconds cache_ttl{60};
  seconds negative_cache_ttl{10};
};

struct argon2_config {
  std::uint64_t ops_limit = 2;                    // Argon2id t
  std::uint64_t mem_limit = 19ull << 20;          // Argon2id m in bytes (OWASP minimum 19 MiB)
};

struct storage_config {
  std::string path;                               // default: <data_dir>/mail
  std::string encryption_key_file;                // empty: no encryption at rest
  bool fsync = true;                              // never false in production
  unsigned delivery_log_days = 30;                // delivery-log retention; 0: no delivery log
  unsigned expunge_history_days = 30;             // QRESYNC expunge history: entries younger are kept,
  unsigned expunge_history_keep = 100;            // and so are each mailbox's newest this many
  std::uint64_t inline_max = 128 * 1024;          // messages up to this size live inside mail.db; 0: files only
};

struct smtp_config {
  std::uint64_t max_message_size = 50ull << 20;
  unsigned max_recipients = 1000;
  unsigned max_errors = 20;                       // hard_error_limit
  unsigned max_junk_commands = 100;
  std::vector<std::string> trusted_networks;      // CIDRs allowed to relay without AUTH
  seconds command_timeout{300};                   // RFC 5321 §4.5.3.2
  seconds data_timeout{600};
  seconds greeting_delay{0};                      // wait before banner to catch early talkers
  std::string relayhost;                          // "host:port"; empty: MX lookup
  std::string relayhost_user;
  std::string relayhost_password_file;
  seconds queue_lifetime{5 * 24 * 3600};          // give up and bounce
  seconds delay_warning{4 * 3600};
  unsigned per_destination_concurrency = 5;
  unsigned messages_per_hour_per_account = 0;     // 0: unlimited
  unsigned connections_per_ip_per_minute = 600;   // 0: unlimited; trusted networks exempt
  unsigned messages_per_ip_per_hour = 0;          // unauthenticated clients; 0: unlimited
  std::uint64_t min_data_rate = 500;              // bytes/s floor on DATA/BDAT; 0: none
  seconds min_data_rate_grace{30};                // before the floor applies
  seconds auth_failure_delay{2};                  // per recent AUTH failure from the IP
  std::vector<std::string> tls_required_domains;
  std::string dkim_selector;                      // empty: do not sign
  std::string dkim_key_file;
  std::string dkim_ed25519_selector;              // a second, Ed25519 signature (RFC 8463)
  std::string dkim_ed25519_key_file;
  bool enforce_dmarc = false;
  // Port 25 only, not trusted networks: a client whose address does not
  // lead to a name and back (iprev not "pass") gets 450 4.7.25 at RCPT,
  // like Postfix's reject_unknown_client_hostname.
  bool reject_unknown_client_hostname = false;
  std::vector<std::string> dns_servers;           // empty: /etc/resolv.conf
};

struct imap_config {
  std::size_t max_line = 65536;
  std::uint64_t max_literal = 50ull << 20;
  seconds preauth_timeout{60};
  seconds idle_timeout{30 * 60};                  // RFC 9051 §5.4: at least 30 minutes
  unsigned max_bad_commands = 20;
  std::uint64_t max_inflate_ratio = 1000;         // COMPRESS=DEFLATE bound
};

struct admin_config {
  seconds session_idle{30 * 60};
  seconds session_absolute{12 * 3600};
  unsigned login_attempts_per_minute = 10;
  std::size_t max_body = 20u << 20;
  std::string static_dir;                         // empty: assets built into the binary
  // A province administrator without a confirmed second factor is signed in
  // to the enrolment of one only (admin/README.md).
  bool require_totp_for_province_admins = false;
};

struct config {
  std::string source;                             // file the config was read from
  server_config server;
  log_config log;
  tls_config tls;
  listen_config listen;
  limits_config limits;
  ldap_config ldap;
  argon2_config argon2;
  storage_config storage;
  smtp_config smtp;
  imap_config imap;
  admin_config admin;

  bool is_local_domain(std::string_view domain) const;
};

// Throws config_error with "file:line: key: reason".
config load_config(const std::string& path);
config parse_config(std::string_view text, const std::string& source_name);

// "50M", "19MiB", "1G", "4096" → bytes; "30s", "5m", "2h", "5d" → seconds.
// Return false on a malformed value.
bool parse_size(std::string_view s, std::uint64_t& out);
bool parse_duration(std::string_view s, seconds& out);

}  // namespace homthu::common
