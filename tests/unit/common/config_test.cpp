#include "homthu/common/config.hpp"

#include <gtest/gtest.h>

using homthu::common::config_error;
using homthu::common::parse_config;

namespace {

const char* minimal = R"(
[server]
hostname = "mail.thainguyen.gov.vn"
domains = ["thainguyen.gov.vn"]
data_dir = "/var/lib/homthu"
)";

std::string error_of(const std::string& text) {
  try {
    parse_config(text, "homthu.toml");
  } catch (const config_error& e) {
    return e.what();
  }
  return "";
}

TEST(config, minimal_file_takes_documented_defaults) {
  auto c = parse_config(minimal, "/etc/homthu/homthu.toml");
  EXPECT_EQ(c.server.hostname, "mail.thainguyen.gov.vn");
  EXPECT_TRUE(c.is_local_domain("ThaiNguyen.gov.VN"));
  EXPECT_FALSE(c.is_local_domain("example.org"));
  EXPECT_EQ(c.smtp.max_message_size, 50ull << 20);
  EXPECT_EQ(c.storage.path, "/var/lib/homthu/mail");
  EXPECT_EQ(c.ldap.cache_ttl.count(), 60);
  EXPECT_TRUE(c.storage.fsync);
  EXPECT_EQ(c.storage.inline_max, 128u * 1024);
}

TEST(config, storage_inline_max_is_a_bounded_size) {
  auto c = parse_config(std::string(minimal) + "[storage]\ninline_max = \"64K\"\n", "homthu.toml");
  EXPECT_EQ(c.storage.inline_max, 64u * 1024);
  c = parse_config(std::string(minimal) + "[storage]\ninline_max = 0\n", "homthu.toml");
  EXPECT_EQ(c.storage.inline_max, 0u);
  EXPECT_NE(error_of(std::string(minimal) + "[storage]\ninline_max = \"2M\"\n").find("inline_max"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[storage]\ninline_max = -1\n").find("inline_max"), std::string::npos);
}

TEST(config, sizes_durations_and_lists) {
  auto c = parse_config(std::string(minimal) + R"(
[smtp]
max_message_size = "25M"
command_timeout = "5m"
trusted_networks = ["10.0.0.0/8", "::1"]
[imap]
max_literal = 1048576
idle_timeout = 1800
[listen]
smtp = "127.0.0.1:2525"
imap = ["127.0.0.1:1143", "[::1]:1143"]
[tls]
cert = "tls/cert.pem"
key = "tls/key.pem"
)",
                        "/etc/homthu/homthu.toml");
  EXPECT_EQ(c.smtp.max_message_size, 25ull << 20);
  EXPECT_EQ(c.smtp.command_timeout.count(), 300);
  EXPECT_EQ(c.smtp.trusted_networks.size(), 2u);
  EXPECT_EQ(c.imap.max_literal, 1048576u);
  ASSERT_EQ(c.listen.smtp.size(), 1u);
  ASSERT_EQ(c.listen.imap.size(), 2u);
  EXPECT_EQ(c.tls.cert, "/etc/homthu/tls/cert.pem");  // relative to the config file
}

TEST(config, unknown_key_names_file_line_and_key) {
  auto e = error_of(std::string(minimal) + "\n[smtp]\nmax_mesage_size = 10\n");
  EXPECT_EQ(e, "homthu.toml:8: smtp.max_mesage_size: unknown key");
}

TEST(config, unknown_section_is_an_error) {
  EXPECT_NE(error_of(std::string(minimal) + "[smpt]\nx = 1\n").find("smpt: unknown section"), std::string::npos);
}

TEST(config, wrong_type_is_an_error) {
  auto e = error_of(std::string(minimal) + "[imap]\nmax_bad_commands = \"many\"\n");
  EXPECT_NE(e.find("homthu.toml:7: imap.max_bad_commands: expected an integer"), std::string::npos) << e;
}

TEST(config, bad_values_are_errors_not_defaults) {
  EXPECT_NE(error_of(std::string(minimal) + "[smtp]\nmax_message_size = \"lots\"\n").find("smtp.max_message_size"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[smtp]\nmax_recipients = 5\n").find("between 100"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[smtp]\ntrusted_networks = [\"10.0.0.0/33\"]\n").find("not an address or CIDR"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[listen]\nsmtp = \"127.0.0.1\"\n").find("listen.smtp"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[listen]\nsmtp = \"mail.example:25\"\n").find("not an IP address"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[log]\nlevel = \"loud\"\n").find("log.level"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[ldap]\nuri = \"http://x\"\n").find("ldap.uri"), std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[imap]\nmax_line = 100\n").find("imap.max_line"), std::string::npos);
}

TEST(config, smtp_rate_and_dkim_keys) {
  auto c = parse_config(std::string(minimal) + R"(
[smtp]
connections_per_ip_per_minute = 30
messages_per_ip_per_hour = 100
min_data_rate = "1K"
min_data_rate_grace = "10s"
auth_failure_delay = 0
dkim_selector = "r2026"
dkim_key_file = "dkim/rsa.pem"
dkim_ed25519_selector = "e2026"
dkim_ed25519_key_file = "dkim/ed25519.pem"
reject_unknown_client_hostname = true
)",
                        "/etc/homthu/homthu.toml");
  EXPECT_TRUE(c.smtp.reject_unknown_client_hostname);
  EXPECT_FALSE(parse_config(minimal, "/etc/homthu/homthu.toml").smtp.reject_unknown_client_hostname);
  EXPECT_EQ(c.smtp.connections_per_ip_per_minute, 30u);
  EXPECT_EQ(c.smtp.messages_per_ip_per_hour, 100u);
  EXPECT_EQ(c.smtp.min_data_rate, 1024u);
  EXPECT_EQ(c.smtp.min_data_rate_grace.count(), 10);
  EXPECT_EQ(c.smtp.auth_failure_delay.count(), 0);
  EXPECT_EQ(c.smtp.dkim_ed25519_key_file, "/etc/homthu/dkim/ed25519.pem");
  EXPECT_NE(error_of(std::string(minimal) + "[smtp]\ndkim_ed25519_selector = \"e\"\n").find("smtp.dkim_ed25519_key_file: required"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) +
                     "[smtp]\ndkim_selector = \"s\"\ndkim_key_file = \"a\"\ndkim_ed25519_selector = \"s\"\n"
                     "dkim_ed25519_key_file = \"b\"\n")
                .find("must differ from dkim_selector"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[smtp]\nauth_failure_delay = \"1m\"\n").find("smtp.auth_failure_delay"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[smtp]\nconnections_per_ip_per_minute = -1\n").find("between 0"),
            std::string::npos);
}

TEST(config, admin_require_totp_for_province_admins) {
  EXPECT_FALSE(parse_config(minimal, "homthu.toml").admin.require_totp_for_province_admins);
  auto c = parse_config(std::string(minimal) + "[admin]\nrequire_totp_for_province_admins = true\n", "homthu.toml");
  EXPECT_TRUE(c.admin.require_totp_for_province_admins);
  c = parse_config(std::string(minimal) + "[admin]\nrequire_totp_for_province_admins = false\n", "homthu.toml");
  EXPECT_FALSE(c.admin.require_totp_for_province_admins);
  // A string or a number is not a yes: refused with the line, not read as true.
  EXPECT_EQ(error_of(std::string(minimal) + "[admin]\nrequire_totp_for_province_admins = \"yes\"\n"),
            "homthu.toml:7: admin.require_totp_for_province_admins: expected true or false");
  EXPECT_NE(error_of(std::string(minimal) + "[admin]\nrequire_totp_for_province_admins = 1\n")
                .find("admin.require_totp_for_province_admins: expected true or false"),
            std::string::npos);
  EXPECT_NE(error_of(std::string(minimal) + "[admin]\nrequire_totp_for_province_admin = true\n").find("unknown key"),
            std::string::npos);
}

TEST(config, listeners_need_a_certificate) {
  EXPECT_NE(error_of(std::string(minimal) + "[listen]\nimaps = \"127.0.0.1:993\"\n").find("tls.cert"), std::string::npos);
}

TEST(config, missing_domains_is_an_error) {
  EXPECT_NE(error_of("[server]\nhostname = \"x\"\n").find("server.domains"), std::string::npos);
}

TEST(config, syntax_error_names_the_line) {
  auto e = error_of("[server]\nhostname = \n");
  EXPECT_EQ(e.rfind("homthu.toml:2:", 0), 0u) << e;
}

TEST(config, parse_size_and_duration) {
  std::uint64_t n = 0;
  EXPECT_TRUE(homthu::common::parse_size("19MiB", n));
  EXPECT_EQ(n, 19ull << 20);
  EXPECT_TRUE(homthu::common::parse_size("4096", n));
  EXPECT_EQ(n, 4096u);
  EXPECT_FALSE(homthu::common::parse_size("99999999999999999999", n));
  EXPECT_FALSE(homthu::common::parse_size("5X", n));
  EXPECT_FALSE(homthu::common::parse_size("", n));
  homthu::common::seconds s{};
  EXPECT_TRUE(homthu::common::parse_duration("5d", s));
  EXPECT_EQ(s.count(), 5 * 86400);
  EXPECT_FALSE(homthu::common::parse_duration("-1s", s));
  EXPECT_FALSE(homthu::common::parse_duration("1w", s));
}

}  // namespace
