// Reads homthu.toml. Trusts nothing in the file: every key is known, typed
// and range-checked; the first problem stops start-up with file:line.
#include "homthu/common/config.hpp"

#include "homthu/common/address.hpp"
#include "homthu/common/listener.hpp"

#include <toml++/toml.h>

#include <boost/asio/ip/address.hpp>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace homthu::common {

namespace {

std::string where(const std::string& file, const toml::source_region& r) {
  return file + ":" + std::to_string(r.begin.line);
}

class section {
 public:
  section(const toml::table* t, std::string name, const std::string& file,
          const toml::source_region& fallback)
      : t_(t), name_(std::move(name)), file_(file), fallback_(fallback) {}

  void str(std::string_view key, std::string& out) {
    if (auto* n = get(key)) {
      auto v = n->value<std::string>();
      if (!n->is_string() || !v) {
        fail(*n, key, "expected a string");
      }
      if (v->find('\0') != std::string::npos) {
        fail(*n, key, "contains a NUL character");
      }
      out = *v;
    }
  }

  void strings(std::string_view key, std::vector<std::string>& out) {
    auto* n = get(key);
    if (!n) {
      return;
    }
    out.clear();
    if (n->is_string()) {
      out.push_back(*n->value<std::string>());
      return;
    }
    auto* arr = n->as_array();
    if (!arr) {
      fail(*n, key, "expected a string or an array of strings");
    }
    for (auto& e : *arr) {
      if (!e.is_string()) {
        fail(e, key, "expected an array of strings");
      }
      out.push_back(*e.value<std::string>());
    }
  }

  void boolean(std::string_view key, bool& out) {
    if (auto* n = get(key)) {
      if (!n->is_boolean()) {
        fail(*n, key, "expected true or false");
      }
      out = *n->value<bool>();
    }
  }

  template <class N>
  void number(std::string_view key, N& out, std::int64_t min, std::int64_t max) {
    if (auto* n = get(key)) {
      if (!n->is_integer()) {
        fail(*n, key, "expected an integer");
      }
      auto v = *n->value<std::int64_t>();
      if (v < min || v > max) {
        fail(*n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      }
      out = static_cast<N>(v);
    }
  }

  template <class N>
  void size(std::string_view key, N& out, std::uint64_t min, std::uint64_t max) {
    auto* n = get(key);
    if (!n) {
      return;
    }
    std::uint64_t v = 0;
    if (n->is_integer()) {
      auto i = *n->value<std::int64_t>();
      if (i < 0) {
        fail(*n, key, "must not be negative");
      }
      v = static_cast<std::uint64_t>(i);
    } else if (n->is_string()) {
      if (!parse_size(*n->value<std::string>(), v)) {
        fail(*n, key, "expected a size such as 4096, \"512K\", \"50M\" or \"2G\"");
      }
    } else {
      fail(*n, key, "expected a size such as 4096, \"512K\", \"50M\" or \"2G\"");
    }
    if (v < min || v > max) {
      fail(*n, key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + " bytes");
    }
    out = static_cast<N>(v);
  }

  void duration(std::string_view key, seconds& out, seconds min, seconds max) {
    auto* n = get(key);
    if (!n) {
      return;
    }
    seconds v{};
    if (n->is_integer()) {
      v = seconds(*n->value<std::int64_t>());
    } else if (!n->is_string() || !parse_duration(*n->value<std::string>(), v)) {
      fail(*n, key, "expected a duration such as 30 (seconds), \"90s\", \"5m\", \"2h\" or \"5d\"");
    }
    if (v < min || v > max) {
      fail(*n, key, "must be between " + std::to_string(min.count()) + "s and " +
                        std::to_string(max.count()) + "s");
    }
    out = v;
  }

  const toml::node* node(std::string_view key) const { return t_ ? t_->get(key) : nullptr; }

  [[noreturn]] void fail(const toml::node& n, std::string_view key, const std::string& reason) const {
    throw config_error(where(file_, n.source()) + ": " + name_ + "." + std::string(key) + ": " + reason);
  }
  [[noreturn]] void fail_at(std::string_view key, const std::string& reason) const {
    if (auto* n = node(key)) {
      fail(*n, key, reason);
    }
    throw config_error(where(file_, fallback_) + ": " + name_ + "." + std::string(key) + ": " + reason);
  }

  // Any key not consumed is a mistake (a typo silently ignored is a default
  // the operator did not ask for).
  void finish() const {
    if (!t_) {
      return;
    }
    for (auto&& [k, v] : *t_) {
      if (!seen_.count(std::string(k.str()))) {
        throw config_error(where(file_, k.source()) + ": " + name_ + "." + std::string(k.str()) +
                           ": unknown key");
      }
    }
  }

 private:
  const toml::node* get(std::string_view key) {
    seen_.insert(std::string(key));
    return node(key);
  }

  const toml::table* t_;
  std::string name_;
  const std::string& file_;
  toml::source_region fallback_;
  std::set<std::string> seen_;
};

void resolve_path(std::string& p, const std::filesystem::path& base) {
  if (!p.empty() && std::filesystem::path(p).is_relative()) {
    p = (base / p).lexically_normal().string();
  }
}

bool valid_cidr(const std::string& s) {
  auto slash = s.find('/');
  boost::system::error_code ec;
  auto addr = boost::asio::ip::make_address(s.substr(0, slash), ec);
  if (ec) {
    return false;
  }
  if (slash == std::string::npos) {
    return true;
  }
  unsigned bits = 0;
  auto tail = std::string_view(s).substr(slash + 1);
  auto [p, e] = std::from_chars(tail.data(), tail.data() + tail.size(), bits);
  return e == std::errc{} && p == tail.data() + tail.size() && bits <= (addr.is_v4() ? 32u : 128u);
}

}  // namespace

bool parse_size(std::string_view s, std::uint64_t& out) {
  std::uint64_t n = 0;
  auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (e != std::errc{} || p == s.data()) {
    return false;
  }
  std::string_view unit(p, s.data() + s.size() - p);
  while (!unit.empty() && unit.front() == ' ') {
    unit.remove_prefix(1);
  }
  std::uint64_t mul = 1;
  if (unit.empty() || unit == "B") {
    mul = 1;
  } else if (unit == "K" || unit == "KB" || unit == "KiB" || unit == "k") {
    mul = 1ull << 10;
  } else if (unit == "M" || unit == "MB" || unit == "MiB") {
    mul = 1ull << 20;
  } else if (unit == "G" || unit == "GB" || unit == "GiB") {
    mul = 1ull << 30;
  } else if (unit == "T" || unit == "TB" || unit == "TiB") {
    mul = 1ull << 40;
  } else {
    return false;
  }
  if (n > UINT64_MAX / mul) {
    return false;
  }
  out = n * mul;
  return true;
}

bool parse_duration(std::string_view s, seconds& out) {
  std::int64_t n = 0;
  auto [p, e] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (e != std::errc{} || p == s.data() || n < 0) {
    return false;
  }
  std::string_view unit(p, s.data() + s.size() - p);
  std::int64_t mul = 0;
  if (unit.empty() || unit == "s") {
    mul = 1;
  } else if (unit == "m" || unit == "min") {
    mul = 60;
  } else if (unit == "h") {
    mul = 3600;
  } else if (unit == "d") {
    mul = 86400;
  } else {
    return false;
  }
  if (n > INT64_MAX / mul / 1000) {
    return false;
  }
  out = seconds(n * mul);
  return true;
}

bool config::is_local_domain(std::string_view domain) const {
  auto d = to_lower_ascii(domain);
  for (const auto& x : server.domains) {
    if (to_lower_ascii(x) == d) {
      return true;
    }
  }
  return false;
}

config parse_config(std::string_view text, const std::string& source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    throw config_error(source_name + ":" + std::to_string(e.source().begin.line) + ": " +
                       std::string(e.description()));
  }

  config c;
  c.source = source_name;
  const std::string& file = c.source;
  auto base = std::filesystem::absolute(std::filesystem::path(source_name)).parent_path();
  toml::source_region top;
  top.begin.line = 1;

  static const std::set<std::string> known = {"server", "log",     "tls",  "listen",
                                              "limits", "ldap",    "argon2", "storage",
                                              "smtp",   "imap",    "admin"};
  for (auto&& [k, v] : root) {
    if (!known.count(std::string(k.str()))) {
      throw config_error(where(file, k.source()) + ": " + std::string(k.str()) + ": unknown section");
    }
    if (!v.is_table()) {
      throw config_error(where(file, k.source()) + ": " + std::string(k.str()) +
                         ": expected a [section]");
    }
  }
  auto sec = [&](const char* name) { return section(root[name].as_table(), name, file, top); };

  {
    auto s = sec("server");
    s.str("hostname", c.server.hostname);
    s.strings("domains", c.server.domains);
    s.str("data_dir", c.server.data_dir);
    s.str("user", c.server.user);
    s.number("io_threads", c.server.io_threads, 0, 256);
    s.number("worker_threads", c.server.worker_threads, 1, 1024);
    s.duration("shutdown_grace", c.server.shutdown_grace, seconds(0), seconds(3600));
    if (c.server.domains.empty()) {
      s.fail_at("domains", "at least one local mail domain is required");
    }
    for (auto& d : c.server.domains) {
      if (d.empty() || d.find_first_of(" @/\\\t") != std::string::npos) {
        s.fail_at("domains", "\"" + d + "\" is not a domain name");
      }
      d = to_lower_ascii(d);
    }
    if (c.server.hostname.empty()) {
      s.fail_at("hostname", "must not be empty");
    }
    resolve_path(c.server.data_dir, base);
    s.finish();
  }
  {
    auto s = sec("log");
    s.str("level", c.log.level);
    s.str("file", c.log.file);
    if (c.log.level != "debug" && c.log.level != "info" && c.log.level != "warn" &&
        c.log.level != "error") {
      s.fail_at("level", "must be one of debug, info, warn, error");
    }
    resolve_path(c.log.file, base);
    s.finish();
  }
  {
    auto s = sec("tls");
    s.str("cert", c.tls.cert);
    s.str("key", c.tls.key);
    resolve_path(c.tls.cert, base);
    resolve_path(c.tls.key, base);
    s.finish();
  }
  {
    auto s = sec("listen");
    struct item {
      const char* key;
      std::vector<std::string>* v;
    };
    item items[] = {{"smtp", &c.listen.smtp},   {"submission", &c.listen.submission},
                    {"smtps", &c.listen.smtps}, {"imap", &c.listen.imap},
                    {"imaps", &c.listen.imaps}, {"admin", &c.listen.admin},
                    {"admin_http", &c.listen.admin_http}};
    bool any_listener = false;
    for (auto& [key, v] : items) {
      s.strings(key, *v);
      for (auto& a : *v) {
        try {
          parse_endpoint(a);
        } catch (const config_error& e) {
          s.fail_at(key, e.what());
        }
      }
      any_listener = any_listener || !v->empty();
    }
    // Every listener offers TLS (STARTTLS or implicit), so any listener
    // needs the certificate.
    if (any_listener && (c.tls.cert.empty() || c.tls.key.empty())) {
      throw config_error(file + ":1: tls.cert: [tls] cert and key are required when a listener is configured");
    }
    s.finish();
  }
  {
    auto s = sec("limits");
    s.number("max_connections", c.limits.max_connections, 1, 1000000);
    s.number("max_connections_per_ip", c.limits.max_connections_per_ip, 1, 1000000);
    s.number("tls_handshakes_per_second", c.limits.tls_handshakes_per_second, 1, 1000000);
    s.finish();
  }
  {
    auto s = sec("ldap");
    s.str("uri", c.ldap.uri);
    s.str("base_dn", c.ldap.base_dn);
    s.str("bind_dn", c.ldap.bind_dn);
    s.str("bind_password", c.ldap.bind_password);
    s.str("bind_password_file", c.ldap.bind_password_file);
    s.number("pool_size", c.ldap.pool_size, 1, 64);
    s.duration("timeout", c.ldap.timeout, seconds(1), seconds(300));
    s.duration("cache_ttl", c.ldap.cache_ttl, seconds(0), seconds(86400));
    s.duration("negative_cache_ttl", c.ldap.negative_cache_ttl, seconds(0), seconds(86400));
    if (c.ldap.uri.rfind("ldap://", 0) != 0 && c.ldap.uri.rfind("ldaps://", 0) != 0 &&
        c.ldap.uri.rfind("ldapi://", 0) != 0) {
      s.fail_at("uri", "must start with ldap://, ldaps:// or ldapi://");
    }
    if (c.ldap.base_dn.empty()) {
      s.fail_at("base_dn", "must not be empty");
    }
    resolve_path(c.ldap.bind_password_file, base);
    s.finish();
  }
  {
    auto s = sec("argon2");
    s.number("ops_limit", c.argon2.ops_limit, 1, 100);
    s.size("mem_limit", c.argon2.mem_limit, 8192, 4ull << 30);
    s.finish();
  }
  {
    auto s = sec("storage");
    s.str("path", c.storage.path);
    s.str("encryption_key_file", c.storage.encryption_key_file);
    s.boolean("fsync", c.storage.fsync);
    s.number("delivery_log_days", c.storage.delivery_log_days, 0, 3650);
    s.number("expunge_history_days", c.storage.expunge_history_days, 0, 3650);
    s.number("expunge_history_keep", c.storage.expunge_history_keep, 0, 1000000);
    s.size("inline_max", c.storage.inline_max, 0, 1u << 20);  // read whole per FETCH: keep it small
    if (c.storage.path.empty()) {
      c.storage.path = (std::filesystem::path(c.server.data_dir) / "mail").string();
    }
    resolve_path(c.storage.path, base);
    resolve_path(c.storage.encryption_key_file, base);
    s.finish();
  }
  {
    auto s = sec("smtp");
    auto& m = c.smtp;
    s.size("max_message_size", m.max_message_size, 1024, 2ull << 30);
    s.number("max_recipients", m.max_recipients, 100, 100000);  // RFC 5321 §4.5.3.1.8
    s.number("max_errors", m.max_errors, 1, 1000);
    s.number("max_junk_commands", m.max_junk_commands, 1, 100000);
    s.strings("trusted_networks", m.trusted_networks);
    for (auto& n : m.trusted_networks) {
      if (!valid_cidr(n)) {
        s.fail_at("trusted_networks", "\"" + n + "\" is not an address or CIDR network");
      }
    }
    // RFC 5321 §4.5.3.2 gives minimums of 5 and 10 minutes; shorter values
    // are allowed for tests and abuse control.
    s.duration("command_timeout", m.command_timeout, seconds(1), seconds(3600));
    s.duration("data_timeout", m.data_timeout, seconds(1), seconds(7200));
    s.duration("greeting_delay", m.greeting_delay, seconds(0), seconds(60));
    s.str("relayhost", m.relayhost);
    s.str("relayhost_user", m.relayhost_user);
    s.str("relayhost_password_file", m.relayhost_password_file);
    s.duration("queue_lifetime", m.queue_lifetime, seconds(60), seconds(60 * 86400));
    s.duration("delay_warning", m.delay_warning, seconds(0), seconds(60 * 86400));
    s.number("per_destination_concurrency", m.per_destination_concurrency, 1, 1000);
    s.number("messages_per_hour_per_account", m.messages_per_hour_per_account, 0, 10000000);
    s.number("connections_per_ip_per_minute", m.connections_per_ip_per_minute, 0, 1000000);
    s.number("messages_per_ip_per_hour", m.messages_per_ip_per_hour, 0, 10000000);
    s.size("min_data_rate", m.min_data_rate, 0, 1ull << 30);
    s.duration("min_data_rate_grace", m.min_data_rate_grace, seconds(1), seconds(3600));
    s.duration("auth_failure_delay", m.auth_failure_delay, seconds(0), seconds(15));
    s.strings("tls_required_domains", m.tls_required_domains);
    s.str("dkim_selector", m.dkim_selector);
    s.str("dkim_key_file", m.dkim_key_file);
    s.str("dkim_ed25519_selector", m.dkim_ed25519_selector);
    s.str("dkim_ed25519_key_file", m.dkim_ed25519_key_file);
    s.boolean("enforce_dmarc", m.enforce_dmarc);
    s.boolean("reject_unknown_client_hostname", m.reject_unknown_client_hostname);
    s.strings("dns_servers", m.dns_servers);
    if (!m.relayhost.empty()) {
      try {
        parse_endpoint(m.relayhost);
      } catch (const config_error& e) {
        s.fail_at("relayhost", e.what());
      }
    }
    if (!m.dkim_selector.empty() && m.dkim_key_file.empty()) {
      s.fail_at("dkim_key_file", "required when dkim_selector is set");
    }
    if (!m.dkim_ed25519_selector.empty() && m.dkim_ed25519_key_file.empty()) {
      s.fail_at("dkim_ed25519_key_file", "required when dkim_ed25519_selector is set");
    }
    if (!m.dkim_ed25519_selector.empty() && m.dkim_ed25519_selector == m.dkim_selector) {
      s.fail_at("dkim_ed25519_selector", "must differ from dkim_selector (each key has its own DNS record)");
    }
    resolve_path(m.relayhost_password_file, base);
    resolve_path(m.dkim_key_file, base);
    resolve_path(m.dkim_ed25519_key_file, base);
    s.finish();
  }
  {
    auto s = sec("imap");
    s.size("max_line", c.imap.max_line, 8192, 16u << 20);  // RFC 9051 §4: ≥ 8192
    s.size("max_literal", c.imap.max_literal, 1024, 2ull << 30);
    s.duration("preauth_timeout", c.imap.preauth_timeout, seconds(1), seconds(3600));
    s.duration("idle_timeout", c.imap.idle_timeout, seconds(1), seconds(24 * 3600));
    s.number("max_bad_commands", c.imap.max_bad_commands, 1, 1000);
    s.number("max_inflate_ratio", c.imap.max_inflate_ratio, 1, 100000);
    s.finish();
  }
  {
    auto s = sec("admin");
    s.duration("session_idle", c.admin.session_idle, seconds(60), seconds(86400));
    s.duration("session_absolute", c.admin.session_absolute, seconds(60), seconds(30 * 86400));
    s.number("login_attempts_per_minute", c.admin.login_attempts_per_minute, 1, 10000);
    s.size("max_body", c.admin.max_body, 1024, 1ull << 30);
    s.str("static_dir", c.admin.static_dir);
    s.boolean("require_totp_for_province_admins", c.admin.require_totp_for_province_admins);
    resolve_path(c.admin.static_dir, base);
    s.finish();
  }
  return c;
}

config load_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw config_error(path + ":0: cannot open: " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

}  // namespace homthu::common
