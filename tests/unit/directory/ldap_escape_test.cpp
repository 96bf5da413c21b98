#include "homthu/directory/ldap_escape.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using homthu::directory::escape_dn_value;
using homthu::directory::escape_filter_value;
using homthu::directory::is_valid_id;

// The escaped value must contain none of the bytes that end or extend an
// assertion, whatever the input.
void expect_inert_filter_value(const std::string& escaped) {
  for (unsigned char c : escaped) {
    EXPECT_NE(c, '(');
    EXPECT_NE(c, ')');
    EXPECT_NE(c, '*');
    EXPECT_NE(c, 0);
    EXPECT_LT(c, 0x80);
  }
}

TEST(ldap_escape, filter_rfc4515_examples) {
  // RFC 4515 §4 examples.
  EXPECT_EQ(escape_filter_value("Parens R Us (for all your parenthetical needs)"),
            "Parens R Us \\28for all your parenthetical needs\\29");
  EXPECT_EQ(escape_filter_value("*"), "\\2a");
  EXPECT_EQ(escape_filter_value("C:\\MyFile"), "C:\\5cMyFile");
  EXPECT_EQ(escape_filter_value(std::string("\0", 1)), "\\00");
}

TEST(ldap_escape, filter_injection_attempts_become_literals) {
  EXPECT_EQ(escape_filter_value("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
  EXPECT_EQ(escape_filter_value("a)(uid=*"), "a\\29\\28uid=\\2a");
  EXPECT_EQ(escape_filter_value(")(|(objectClass=*))"), "\\29\\28|\\28objectClass=\\2a\\29\\29");
  EXPECT_EQ(escape_filter_value(std::string("x\0y", 3)), "x\\00y");
  for (const std::string v : {"*)(uid=*", ")(|(objectClass=*))", "admin*", "\\2a"}) {
    expect_inert_filter_value(escape_filter_value(v));
  }
}

TEST(ldap_escape, filter_non_utf8_and_utf8_are_hex) {
  EXPECT_EQ(escape_filter_value("\xff\xfe"), "\\ff\\fe");
  EXPECT_EQ(escape_filter_value("\xc3"), "\\c3");  // truncated UTF-8
  EXPECT_EQ(escape_filter_value("Hà"), "H\\c3\\a0");
}

TEST(ldap_escape, filter_long_value) {
  std::string v(10 * 1024, '*');
  auto e = escape_filter_value(v);
  EXPECT_EQ(e.size(), v.size() * 3);
  expect_inert_filter_value(e);
  std::string mixed;
  for (int i = 0; i < 10 * 1024; ++i) {
    mixed += static_cast<char>(i % 256);
  }
  expect_inert_filter_value(escape_filter_value(mixed));
}

TEST(ldap_escape, dn_rfc4514_specials) {
  EXPECT_EQ(escape_dn_value("a,b"), "a\\,b");
  EXPECT_EQ(escape_dn_value("a+b=c"), "a\\+b\\=c");
  EXPECT_EQ(escape_dn_value("\"q\";<x>"), "\\\"q\\\"\\;\\<x\\>");
  EXPECT_EQ(escape_dn_value("#lead"), "\\#lead");
  EXPECT_EQ(escape_dn_value(" both "), "\\ both\\ ");
  EXPECT_EQ(escape_dn_value("mid#dle"), "mid#dle");
  EXPECT_EQ(escape_dn_value("back\\slash"), "back\\\\slash");
  EXPECT_EQ(escape_dn_value(std::string("n\0l", 3)), "n\\00l");
  EXPECT_EQ(escape_dn_value("Sở Nội vụ"), "Sở Nội vụ");
}

TEST(ldap_escape, dn_injection_cannot_add_rdn) {
  // A value trying to climb out of its RDN stays one value: every ',' and
  // '=' in the output is preceded by a backslash.
  auto e = escape_dn_value("x,ou=units,dc=thainguyen,dc=gov,dc=vn");
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (e[i] == ',' || e[i] == '=') {
      ASSERT_GT(i, 0u);
      EXPECT_EQ(e[i - 1], '\\');
    }
  }
  std::string big(10 * 1024, ',');
  EXPECT_EQ(escape_dn_value(big).size(), big.size() * 2);
}

TEST(ldap_escape, ids) {
  EXPECT_TRUE(is_valid_id("annv"));
  EXPECT_TRUE(is_valid_id("xa-tan-cuong"));
  EXPECT_TRUE(is_valid_id("qt.tp-thai-nguyen"));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("-x"));
  EXPECT_FALSE(is_valid_id("An"));
  EXPECT_FALSE(is_valid_id("a*"));
  EXPECT_FALSE(is_valid_id("a,b"));
  EXPECT_FALSE(is_valid_id(std::string("a\0", 2)));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

}  // namespace
