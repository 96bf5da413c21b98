// Command lines → values or replies (RFC 5321 §4.1, ESMTP parameters of
// RFC 1870, 3461, 4954, 6152, 6531, 3030), table-driven.
#include "homthu/smtp/proto/command.hpp"

#include <gtest/gtest.h>

namespace homthu::smtp::proto {
namespace {

struct reject_case {
  std::string line;
  int code;
  std::string enhanced;
};

class rejects : public ::testing::TestWithParam<reject_case> {};

TEST_P(rejects, with_reply) {
  const auto& c = GetParam();
  auto r = parse_command(c.line);
  ASSERT_FALSE(r.has_value()) << c.line;
  EXPECT_EQ(r.error().code, c.code) << c.line;
  EXPECT_EQ(r.error().enhanced, c.enhanced) << c.line;
}

INSTANTIATE_TEST_SUITE_P(
    syntax, rejects,
    ::testing::Values(
        reject_case{"FOO bar", 500, "5.5.2"},
        reject_case{"MAILX FROM:<a@b.c>", 500, "5.5.2"},
        reject_case{"EHLO", 501, "5.5.4"},
        reject_case{"MAIL TO:<a@b.c>", 501, "5.5.4"},
        reject_case{"MAIL FROM:a@b.c", 501, "5.1.7"},
        reject_case{"MAIL FROM:<;sleep 5;>", 501, "5.1.7"},
        reject_case{"MAIL FROM:<$(reboot)@b.c>", 501, "5.1.7"},
        reject_case{"MAIL FROM:<a@b.c> SIZE=123456789012345678901234567890", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> SIZE=18446744073709551616", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> SIZE=12x", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> SIZE=1 SIZE=2", 555, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> BODY=9BIT", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> AUTH=a+0D+0Ab@c.d", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> AUTH=a+0db@c.d", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> ENVID=x+0Ay", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> RET=MAYBE", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> XFORWARD=1", 555, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> SMTPUTF8=yes", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c> =x", 501, "5.5.4"},
        reject_case{"RCPT TO:<a@b.c> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"},
        reject_case{"RCPT TO:<a@b.c> NOTIFY=SOMETIMES", 501, "5.5.4"},
        reject_case{"RCPT TO:<a@b.c> ORCPT=noseparator", 501, "5.5.4"},
        reject_case{"RCPT TO:<a@b.c> SIZE=1", 555, "5.5.4"},
        reject_case{"RCPT TO:<>", 501, "5.1.3"},
        reject_case{"RCPT TO:<remote!u>", 501, "5.1.3"},
        reject_case{"BDAT", 501, "5.5.4"},
        reject_case{"BDAT x", 501, "5.5.4"},
        reject_case{"BDAT 10 NOTLAST", 501, "5.5.4"},
        reject_case{"BDAT 99999999999999999999", 501, "5.5.4"},
        reject_case{"DATA now", 501, "5.5.4"},
        reject_case{"AUTH", 501, "5.5.4"},
        reject_case{"AUTH PLAIN a b", 501, "5.5.2"},
        reject_case{"AUTH THIS-MECHANISM-NAME-IS-TOO-LONG", 501, "5.5.4"},
        reject_case{"MAIL FROM:<a@b.c>\r", 501, "5.5.2"},
        reject_case{"HELO a\x01" "b", 501, "5.5.2"},
        reject_case{"VRFY", 501, "5.5.4"}));

TEST(command, verbs_are_case_insensitive) {
  auto r = parse_command("ehlo client.example");
  ASSERT_TRUE(r);
  auto* e = std::get_if<ehlo_args>(&*r);
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->domain, "client.example");
  EXPECT_TRUE(e->extended);
  auto h = parse_command("HeLo [192.0.2.1]");
  ASSERT_TRUE(h);
  EXPECT_FALSE(std::get<ehlo_args>(*h).extended);
}

TEST(command, mail_with_every_parameter) {
  auto r = parse_command(
      "MAIL FROM:<an@thainguyen.gov.vn> SIZE=4096 BODY=8BITMIME RET=HDRS ENVID=id+2Bx AUTH=an@thainguyen.gov.vn");
  ASSERT_TRUE(r) << r.error().text;
  const auto& m = std::get<mail_args>(*r);
  EXPECT_EQ(m.sender.str(), "an@thainguyen.gov.vn");
  ASSERT_TRUE(m.size.has_value());
  EXPECT_EQ(*m.size, 4096u);
  EXPECT_EQ(m.body, body_type::eight_bit_mime);
  EXPECT_EQ(m.ret, dsn_ret::headers);
  EXPECT_EQ(m.envid, "id+x");
  ASSERT_TRUE(m.auth.has_value());
  EXPECT_EQ(*m.auth, "an@thainguyen.gov.vn");
}

TEST(command, mail_null_sender_and_space_after_colon) {
  auto r = parse_command("MAIL FROM: <>");
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::get<mail_args>(*r).sender.empty());
}

TEST(command, smtputf8_allows_utf8_path) {
  EXPECT_FALSE(parse_command("MAIL FROM:<th\xc6\xb0@v\xc3\xad.vn>"));
  auto r = parse_command("MAIL FROM:<th\xc6\xb0@v\xc3\xad.vn> SMTPUTF8");
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::get<mail_args>(*r).smtputf8);
  EXPECT_FALSE(parse_command("RCPT TO:<th\xc6\xb0@thainguyen.gov.vn>", false));
  EXPECT_TRUE(parse_command("RCPT TO:<th\xc6\xb0@thainguyen.gov.vn>", true));
}

TEST(command, rcpt_with_dsn_parameters) {
  auto r = parse_command("RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.org");
  ASSERT_TRUE(r);
  const auto& t = std::get<rcpt_args>(*r);
  EXPECT_TRUE(t.notify.specified);
  EXPECT_TRUE(t.notify.success);
  EXPECT_TRUE(t.notify.failure);
  EXPECT_FALSE(t.notify.delay);
  EXPECT_EQ(t.orcpt, "rfc822;b@example.org");
}

TEST(command, rcpt_postmaster_without_domain) {
  auto r = parse_command("RCPT TO:<postmaster>");
  ASSERT_TRUE(r);
  EXPECT_TRUE(std::get<rcpt_args>(*r).postmaster);
}

TEST(command, bdat_sizes) {
  auto r = parse_command("BDAT 1000 LAST");
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<bdat_args>(*r).size, 1000u);
  EXPECT_TRUE(std::get<bdat_args>(*r).last);
  auto z = parse_command("BDAT 0 last");
  ASSERT_TRUE(z);
  EXPECT_EQ(std::get<bdat_args>(*z).size, 0u);
}

TEST(command, auth_with_initial_response) {
  auto r = parse_command("auth plain AGFuAHNlY3JldA==");
  ASSERT_TRUE(r);
  const auto& a = std::get<auth_args>(*r);
  EXPECT_EQ(a.mechanism, "PLAIN");
  ASSERT_TRUE(a.initial_response);
  EXPECT_EQ(*a.initial_response, "AGFuAHNlY3JldA==");
}

TEST(command, line_limits_per_verb) {
  // S10: a 513-octet command line (with CRLF) is refused; MAIL/RCPT/AUTH have
  // the longer limits their extensions define.
  const std::string noop = "NOOP " + std::string(511 - 5, 'x');  // 511 + CRLF = 513
  auto r = parse_command(noop);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, 500);
  EXPECT_TRUE(parse_command("NOOP " + std::string(510 - 5, 'x')));
  const std::string mail = "MAIL FROM:<a@b.c> ENVID=" + std::string(100, 'e') + " AUTH=" + std::string(200, 'a');
  EXPECT_TRUE(parse_command(mail));
}

TEST(command, xtext_roundtrip) {
  const std::string s = "a+b=c d";
  auto enc = xtext_encode(s);
  EXPECT_EQ(enc, "a+2Bb+3Dc+20d");
  auto dec = xtext_decode(enc);
  ASSERT_TRUE(dec);
  EXPECT_EQ(*dec, s);
  EXPECT_FALSE(xtext_decode("a+0D"));
  EXPECT_FALSE(xtext_decode("a+4"));
}

TEST(reply, enhanced_code_on_every_line) {
  auto s = format(make_reply(250, "2.0.0", "one\ntwo"));
  EXPECT_EQ(s, "250-2.0.0 one\r\n250 2.0.0 two\r\n");
  auto injected = format(make_reply(550, "5.1.1", "bad\r<x>"));
  EXPECT_EQ(injected, "550 5.1.1 bad?<x>\r\n");
}

}  // namespace
}  // namespace homthu::smtp::proto
