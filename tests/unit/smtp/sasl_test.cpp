// SASL PLAIN/LOGIN decoding (RFC 4616, RFC 4954) against RELIABILITY.md S8.
#include "homthu/smtp/proto/sasl.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace homthu::smtp::proto {
namespace {

std::string b64(std::string_view s) { return base64_encode(s); }

TEST(base64, roundtrip_and_strictness) {
  for (const std::string& s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff", 2)}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, s);
  }
  EXPECT_FALSE(base64_decode("YQ"));       // missing padding
  EXPECT_FALSE(base64_decode("Y=Q="));     // padding in the middle
  EXPECT_FALSE(base64_decode("YQ==YQ=="));
  EXPECT_FALSE(base64_decode("Y Q=="));
  EXPECT_FALSE(base64_decode("*"));
  EXPECT_FALSE(base64_decode("="));
}

TEST(sasl_plain, good) {
  auto r = decode_plain(b64(std::string("\0an@thainguyen.gov.vn\0secret", 28)));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->login, "an@thainguyen.gov.vn");
  EXPECT_EQ(r->password, "secret");
  auto same = decode_plain(b64(std::string("an\0an\0pw", 8)));
  ASSERT_TRUE(same);
  EXPECT_EQ(same->login, "an");
}

struct bad_plain {
  std::string name;
  std::string raw;      // before base64
  bool encode = true;
  int code = 535;
};

class sasl_plain_bad : public ::testing::TestWithParam<bad_plain> {};

TEST_P(sasl_plain_bad, refused) {
  const auto& c = GetParam();
  auto r = decode_plain(c.encode ? b64(c.raw) : c.raw);
  ASSERT_FALSE(r) << c.name;
  EXPECT_EQ(r.error().code, c.code) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    s8, sasl_plain_bad,
    ::testing::Values(
        bad_plain{"bad_base64", "!!notbase64", false, 501},
        bad_plain{"star", "*", false, 501},
        bad_plain{"equals", "=", false, 501},
        bad_plain{"no_nul", "anpassword"},
        bad_plain{"one_nul", std::string("an\0pw", 5)},
        bad_plain{"three_nuls", std::string("\0an\0pw\0x", 8)},
        bad_plain{"empty_authcid", std::string("\0\0pw", 4)},
        bad_plain{"empty_password", std::string("\0an\0", 4)},
        bad_plain{"long_authcid", "\0" + std::string(256, 'a') + std::string("\0pw", 3)},
        bad_plain{"invalid_utf8", std::string("\0\xc3\0pw", 5)},
        bad_plain{"proxy_authzid", std::string("boss\0an\0pw", 10)}),
    [](const auto& info) { return info.param.name; });

TEST(sasl_login, steps) {
  auto u = decode_login_step(b64("an@thainguyen.gov.vn"));
  ASSERT_TRUE(u);
  EXPECT_EQ(*u, "an@thainguyen.gov.vn");
  EXPECT_FALSE(decode_login_step(b64("")));
  EXPECT_FALSE(decode_login_step(b64(std::string("a\0b", 3))));
  EXPECT_FALSE(decode_login_step("%%%"));
}

}  // namespace
}  // namespace homthu::smtp::proto
