// RFC 5321 §4.1.2 path syntax and §4.5.3.1 limits, table-driven.
#include "homthu/smtp/proto/path.hpp"

#include <gtest/gtest.h>

namespace homthu::smtp::proto {
namespace {

struct path_case {
  std::string in;
  bool ok;
  std::string local;
  std::string domain;
};

class path_table : public ::testing::TestWithParam<path_case> {};

TEST_P(path_table, parses_or_refuses) {
  const auto& c = GetParam();
  std::size_t used = 0;
  path_options o;
  o.allow_null = true;
  o.allow_postmaster = true;
  auto r = parse_path(c.in, o, used, false);
  ASSERT_EQ(r.has_value(), c.ok) << c.in;
  if (c.ok) {
    EXPECT_EQ(r->local, c.local) << c.in;
    EXPECT_EQ(r->domain, c.domain) << c.in;
    EXPECT_EQ(used, c.in.size()) << c.in;
  } else {
    EXPECT_EQ(r.error().code, 501) << c.in;
    EXPECT_EQ(r.error().enhanced, "5.1.3") << c.in;
  }
}

INSTANTIATE_TEST_SUITE_P(
    rfc5321, path_table,
    ::testing::Values(
        path_case{"<an@thainguyen.gov.vn>", true, "an", "thainguyen.gov.vn"},
        path_case{"<>", true, "", ""},
        path_case{"<Postmaster>", true, "Postmaster", ""},
        path_case{"<first.last+tag@example.org>", true, "first.last+tag", "example.org"},
        path_case{"<\"john doe\"@example.org>", true, "john doe", "example.org"},
        path_case{"<\"a\\\"b\"@example.org>", true, "a\"b", "example.org"},
        path_case{"<\"u@d\"@[192.0.2.1]>", true, "u@d", "[192.0.2.1]"},
        path_case{"<u@[IPv6:2001:db8::1]>", true, "u", "[IPv6:2001:db8::1]"},
        path_case{"<@relay.example,@b.example:u@example.org>", true, "u", "example.org"},
        path_case{"<u%remote.example@thainguyen.gov.vn>", true, "u%remote.example", "thainguyen.gov.vn"},
        path_case{"<remote!u@thainguyen.gov.vn>", true, "remote!u", "thainguyen.gov.vn"},
        path_case{"<u>", false, "", ""},
        path_case{"<remote!u>", false, "", ""},
        path_case{"<u@>", false, "", ""},
        path_case{"<@u.example>", false, "", ""},
        path_case{"<u@d@[192.0.2.1]>", false, "", ""},
        path_case{"<.u@example.org>", false, "", ""},
        path_case{"<u.@example.org>", false, "", ""},
        path_case{"<u..v@example.org>", false, "", ""},
        path_case{"<u v@example.org>", false, "", ""},
        path_case{"<u@-bad.example>", false, "", ""},
        path_case{"<u@bad-.example>", false, "", ""},
        path_case{"<u@exa_mple.org>", false, "", ""},
        path_case{"<u@[999.0.2.1]>", false, "", ""},
        path_case{"<u@[foo:bar]>", false, "", ""},
        path_case{"<;sleep 5;>", false, "", ""},
        path_case{"<`id`@example.org>", true, "`id`", "example.org"},
        path_case{"<$(id)@example.org>", false, "", ""},
        path_case{"<\"unterminated@example.org>", false, "", ""},
        path_case{"u@example.org", false, "", ""},
        path_case{"<u@example.org", false, "", ""},
        path_case{"<caf\xc3\xa9@example.org>", false, "", ""}));

TEST(path, limits_of_rfc5321_4_5_3_1) {
  std::size_t used = 0;
  path_options o;
  // 64-octet local part is fine, 65 is not.
  EXPECT_TRUE(parse_path("<" + std::string(64, 'a') + "@example.org>", o, used, false));
  EXPECT_FALSE(parse_path("<" + std::string(65, 'a') + "@example.org>", o, used, false));
  // Path of 256 octets including < and > is fine, 257 is not.
  auto domain_of = [](std::size_t n) {
    std::string d;
    while (d.size() < n) {
      d += std::string(std::min<std::size_t>(60, n - d.size()), 'd');
      if (d.size() < n) {
        d.back() = '.';
      }
    }
    return d;
  };
  const auto d250 = domain_of(250);
  ASSERT_EQ(d250.size(), 250u);
  EXPECT_TRUE(parse_path("<abc@" + d250 + ">", o, used, false));   // 1+3+1+250+1 = 256
  EXPECT_FALSE(parse_path("<abcd@" + d250 + ">", o, used, false)); // 257
  auto r = parse_path("<a@" + domain_of(256) + ">", o, used, false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 501);
}

TEST(path, sender_errors_use_5_1_7) {
  std::size_t used = 0;
  auto r = parse_path("<bad@>", {}, used, true);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().enhanced, "5.1.7");
}

TEST(path, utf8_only_with_smtputf8) {
  std::size_t used = 0;
  path_options o;
  o.utf8 = true;
  auto r = parse_path("<caf\xc3\xa9@v\xc3\xad.example>", o, used, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->local, "caf\xc3\xa9");
  EXPECT_FALSE(parse_path("<caf\xc3@example.org>", o, used, false));  // truncated UTF-8 (S17)
}

TEST(path, str_requotes_when_needed) {
  std::size_t used = 0;
  auto r = parse_path("<\"john doe\"@example.org>", {}, used, false);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->str(), "\"john doe\"@example.org");
  auto s = parse_path("<An@ThaiNguyen.gov.vn>", {}, used, false);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->str(), "An@ThaiNguyen.gov.vn");
  EXPECT_EQ(s->canonical(), "an@thainguyen.gov.vn");
}

}  // namespace
}  // namespace homthu::smtp::proto
