// DKIM signing and verification (libopendkim, RSA and Ed25519), SPF through
// libspf2 with fixed DNS answers, DMARC alignment, the Public Suffix List
// and the Authentication-Results filter (fed whole and byte at a time).
#include "../../../smtp/src/auth/checks.hpp"
#include "../../../smtp/src/auth/dkim.hpp"
#include "../../../smtp/src/auth/dkim_canon.hpp"
#include "fakes.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace homthu::smtp::test {
namespace {

std::string new_key_pem(bool ed25519) {
  EVP_PKEY* k = ed25519 ? EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519")
                        : EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* p = nullptr;
  const long n = BIO_get_mem_data(b, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(b);
  EVP_PKEY_free(k);
  return out;
}

// Feeds `in` to a streaming filter one byte at a time.
template <class Filter>
std::string bytewise(Filter& f, std::string_view in) {
  std::string out;
  for (char c : in) {
    f.feed(std::string_view(&c, 1), out);
  }
  f.finish(out);
  return out;
}

const std::string message =
    "From: An <an@thainguyen.gov.vn>\r\nTo: x@example.org\r\nSubject: Giay moi\r\n"
    "Date: Tue, 03 Mar 2026 10:04:05 +0000\r\n\r\nKinh gui.\r\n.leading dot\r\n";

class dkim_roundtrip : public ::testing::TestWithParam<bool> {};

TEST_P(dkim_roundtrip, signature_verifies_and_tampering_fails) {
  const bool ed = GetParam();
  const auto pem = new_key_pem(ed);
  auth::dkim_signer signer({auth::dkim_key{"s1", pem, ed}});
  std::string error;
  const auto sig = signer.sign(message, "thainguyen.gov.vn", &error);
  ASSERT_FALSE(sig.empty()) << error;
  EXPECT_EQ(sig.rfind("DKIM-Signature: v=1; a=", 0), 0u);
  EXPECT_NE(sig.find(ed ? "a=ed25519-sha256" : "a=rsa-sha256"), std::string::npos);
  EXPECT_NE(sig.find("c=relaxed/relaxed"), std::string::npos);
  EXPECT_EQ(sig.find('\n', 0) == std::string::npos ? 0 : sig[sig.find('\n') - 1], '\r');

  auto dns = std::make_shared<fake_dns>();
  const auto txt = auth::dkim_txt_record(pem);
  EXPECT_EQ(txt.rfind(ed ? "v=DKIM1; k=ed25519; p=" : "v=DKIM1; k=rsa; p=", 0), 0u);
  dns->set("s1._domainkey.thainguyen.gov.vn", dns_type::txt, {txt});
  auth::dkim_verifier verifier(dns);

  auto v = verifier.verify(sig + message);
  ASSERT_EQ(v.signatures.size(), 1u);
  EXPECT_EQ(v.signatures[0].result, "pass") << v.signatures[0].reason;
  EXPECT_EQ(v.signatures[0].domain, "thainguyen.gov.vn");
  EXPECT_EQ(v.signatures[0].selector, "s1");

  auto tampered = sig + message;
  tampered.replace(tampered.find("Kinh gui."), 9, "Kinh gui!");
  v = verifier.verify(tampered);
  ASSERT_EQ(v.signatures.size(), 1u);
  EXPECT_EQ(v.signatures[0].result, "fail");

  auto forged_subject = sig + message;
  forged_subject.replace(forged_subject.find("Giay moi"), 8, "Giay moI");
  v = verifier.verify(forged_subject);
  ASSERT_EQ(v.signatures.size(), 1u) << "forged subject";
  EXPECT_EQ(v.signatures[0].result, "fail");

  dns->down = true;
  v = verifier.verify(sig + message);
  ASSERT_EQ(v.signatures.size(), 1u) << "dns down";
  EXPECT_EQ(v.signatures[0].result, "temperror");
}

INSTANTIATE_TEST_SUITE_P(keys, dkim_roundtrip, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? std::string("ed25519") : std::string("rsa"); });

TEST(dkim, missing_key_is_permerror_and_unsigned_is_none) {
  const auto pem = new_key_pem(true);
  auth::dkim_signer signer({auth::dkim_key{"s1", pem, true}});
  const auto sig = signer.sign(message, "thainguyen.gov.vn");
  auto dns = std::make_shared<fake_dns>();
  auth::dkim_verifier verifier(dns);
  EXPECT_EQ(verifier.verify(sig + message).signatures.at(0).result, "permerror");
  EXPECT_TRUE(verifier.verify(message).signatures.empty());
}

TEST(dkim, dual_signing_gives_two_fields) {
  auth::dkim_signer signer({auth::dkim_key{"r1", new_key_pem(false), false},
                            auth::dkim_key{"e1", new_key_pem(true), true}});
  const auto sig = signer.sign(message, "thainguyen.gov.vn");
  std::size_t n = 0;
  for (auto p = sig.find("DKIM-Signature:"); p != std::string::npos; p = sig.find("DKIM-Signature:", p + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 2u);
}

// RFC 6376 §3.4.5, the example for relaxed canonicalization.
TEST(dkim_canon, rfc6376_example) {
  EXPECT_EQ(auth::relaxed_header("A: X "), "a:X");
  EXPECT_EQ(auth::relaxed_header("B : Y\t\r\n\tZ  "), "b:Y Z");
  EXPECT_EQ(auth::relaxed_header("Subject:\r\n  a:  b "), "subject:a: b");
  const std::string body = " C \r\nD \t E\r\n\r\n\r\n";
  std::string whole;
  auth::relaxed_body c;
  c.feed(body, whole);
  c.finish(whole);
  EXPECT_EQ(whole, " C\r\nD E\r\n");
  auth::relaxed_body b;
  EXPECT_EQ(bytewise(b, body), whole);
}

TEST(dkim_canon, body_edges) {
  auto canon = [](std::string_view in) {
    std::string out;
    auth::relaxed_body c;
    c.feed(in, out);
    c.finish(out);
    return out;
  };
  EXPECT_EQ(canon(""), "");                              // an empty body hashes as nothing
  EXPECT_EQ(canon("\r\n\r\n"), "");                      // so does one of empty lines
  EXPECT_EQ(canon("abc"), "abc\r\n");                    // a last line gets its CRLF
  EXPECT_EQ(canon("\r\n \r\nx \r\n"), "\r\n\r\nx\r\n");  // empty lines inside stay
  EXPECT_EQ(canon("a\rb\r\n"), "a\rb\r\n");              // a lone CR is a character
  EXPECT_EQ(canon("a\nb\n"), "a\r\nb\r\n");              // a bare LF ends a line
  EXPECT_EQ(canon("a \t\r"), "a \r\r\n");
}

// Messages whose shape trips naive signers: folded and repeated fields, no
// body, trailing blank lines and whitespace, a body of several pieces.
TEST(dkim, awkward_messages_verify_with_libopendkim) {
  const auto rsa = new_key_pem(false);
  const auto ed = new_key_pem(true);
  auth::dkim_signer signer({auth::dkim_key{"r1", rsa, false}, auth::dkim_key{"e1", ed, true}});
  auto dns = std::make_shared<fake_dns>();
  dns->set("r1._domainkey.thainguyen.gov.vn", dns_type::txt, {auth::dkim_txt_record(rsa)});
  dns->set("e1._domainkey.thainguyen.gov.vn", dns_type::txt, {auth::dkim_txt_record(ed)});
  auth::dkim_verifier verifier(dns);
  std::string big = "From: a@thainguyen.gov.vn\r\nSubject: big\r\n\r\n";
  for (int i = 0; i < 40000; ++i) {
    big += "dong " + std::to_string(i) + " \t  co  khoang trang   \r\n";
  }
  big += "\r\n\r\n";
  const std::string cases[] = {
      "From: a@thainguyen.gov.vn\r\nTo: x@example.org,\r\n\ty@example.org\r\nTo: z@example.org\r\n"
      "Subject:   =?UTF-8?B?VGjDoWkgTmd1ecOqbg==?=  \r\n\r\nthan\r\n",
      "From: a@thainguyen.gov.vn\r\nSubject: no body\r\n",
      "From: a@thainguyen.gov.vn\r\nSubject: empty body\r\n\r\n",
      "From: a@thainguyen.gov.vn\r\nX-Long: " + std::string(300, 'x') + "\r\n\r\n \r\n\r\n",
      big,
  };
  for (const auto& m : cases) {
    std::string error;
    const auto sig = signer.sign(m, "thainguyen.gov.vn", &error);
    ASSERT_FALSE(sig.empty()) << error;
    for (std::size_t at = 0, nl; (nl = sig.find("\r\n", at)) != std::string::npos; at = nl + 2) {
      EXPECT_LE(nl - at, 78u) << "line of the signature field too long";
    }
    const auto v = verifier.verify(sig + m);
    ASSERT_EQ(v.signatures.size(), 2u) << m.substr(0, 60);
    for (const auto& s : v.signatures) {
      EXPECT_EQ(s.result, "pass") << s.selector << ": " << s.reason << " in " << m.substr(0, 60);
    }
    // The same verdict when the message arrives in pieces (messages too big
    // to hold in memory are checked so), cut in awkward places.
    const auto whole = sig + m;
    auto p = verifier.start();
    for (std::size_t at = 0; at < whole.size(); at += 4097) {
      p->feed(std::string_view(whole).substr(at, 4097));
    }
    const auto pieces = p->finish();
    ASSERT_EQ(pieces.signatures.size(), 2u);
    EXPECT_EQ(pieces.signatures[0].result, "pass");
    EXPECT_EQ(pieces.signatures[1].result, "pass");
  }
}

TEST(psl, organizational_domain) {
  auth::public_suffixes psl;
  EXPECT_EQ(psl.organizational_domain("mail.thainguyen.gov.vn"), "thainguyen.gov.vn");
  EXPECT_EQ(psl.organizational_domain("thainguyen.gov.vn"), "thainguyen.gov.vn");
  EXPECT_EQ(psl.organizational_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(psl.organizational_domain("Mail.Example.ORG."), "example.org");
  EXPECT_EQ(psl.organizational_domain("gov.vn"), "gov.vn");
}

TEST(spf, results_from_fixed_answers) {
  fake_dns dns;
  dns.set("example.org", dns_type::txt, {"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net ~all"});
  dns.set("_spf.example.net", dns_type::txt, {"v=spf1 a:mx.example.net -all"});
  dns.set("mx.example.net", dns_type::a, {"198.51.100.7"});
  EXPECT_EQ(auth::check_spf(dns, "192.0.2.9", "h.example.org", "a@example.org").result, "pass");
  EXPECT_EQ(auth::check_spf(dns, "198.51.100.7", "h.example.org", "a@example.org").result, "pass");
  EXPECT_EQ(auth::check_spf(dns, "203.0.113.1", "h.example.org", "a@example.org").result, "softfail");
  const auto none = auth::check_spf(dns, "203.0.113.1", "h.example.org", "a@nothing.example");
  EXPECT_EQ(none.result, "none");
  EXPECT_EQ(none.domain, "nothing.example");
  dns.set("bad.example", dns_type::txt, {"v=spf1 ip4:192.0.2.0/99 -all"});
  EXPECT_EQ(auth::check_spf(dns, "192.0.2.9", "h", "a@bad.example").result, "permerror");
  // <>: the HELO identity (RFC 7208 §2.4).
  dns.set("h.example.org", dns_type::txt, {"v=spf1 ip4:192.0.2.9 -all"});
  const auto helo = auth::check_spf(dns, "192.0.2.9", "h.example.org", "");
  EXPECT_EQ(helo.result, "pass");
  EXPECT_TRUE(helo.helo_identity);
  dns.down = true;
  EXPECT_EQ(auth::check_spf(dns, "192.0.2.9", "h.example.org", "a@example.org").result, "temperror");
}

TEST(dmarc, alignment_and_policy) {
  fake_dns dns;
  auth::public_suffixes psl;
  dns.set("_dmarc.example.org", dns_type::txt, {"v=DMARC1; p=reject; aspf=s"});
  auth::spf_result spf{"pass", "bounce.example.org", false};
  auth::dkim_verdict no_dkim;
  // Strict SPF alignment: a subdomain's pass does not align.
  auto r = auth::check_dmarc(dns, psl, "example.org", spf, no_dkim);
  EXPECT_EQ(r.result, "fail");
  EXPECT_EQ(r.policy, "reject");
  // Relaxed DKIM alignment (the default): a subdomain's signature aligns.
  auth::dkim_verdict dkim;
  dkim.signatures.push_back({"pass", "news.example.org", "s", ""});
  EXPECT_EQ(auth::check_dmarc(dns, psl, "example.org", spf, dkim).result, "pass");
  // A signature by another organization does not.
  dkim.signatures[0].domain = "example.net";
  EXPECT_EQ(auth::check_dmarc(dns, psl, "example.org", spf, dkim).result, "fail");
  EXPECT_EQ(auth::check_dmarc(dns, psl, "other.example", spf, dkim).result, "none");
  dns.set("_dmarc.broken.example", dns_type::txt, {"v=DMARC1; p=maybe"});
  EXPECT_EQ(auth::check_dmarc(dns, psl, "broken.example", spf, dkim).result, "permerror");
  dns.down = true;
  EXPECT_EQ(auth::check_dmarc(dns, psl, "example.org", spf, dkim).result, "temperror");
}

TEST(results_filter, drops_only_our_fields_whole_and_byte_at_a_time) {
  const std::string in =
      "Authentication-Results: mail.thainguyen.gov.vn; dkim=pass\r\n\theader.d=forged\r\n"
      "Received: from x\r\n"
      "Authentication-Results: other.example; spf=pass\r\n"
      "authentication-results:mail.thainguyen.gov.vn;none\r\n"
      "\r\n"
      "Authentication-Results: mail.thainguyen.gov.vn; body\r\n";
  const std::string want =
      "Received: from x\r\nAuthentication-Results: other.example; spf=pass\r\n\r\n"
      "Authentication-Results: mail.thainguyen.gov.vn; body\r\n";
  auth::results_filter whole("mail.thainguyen.gov.vn");
  std::string out;
  whole.feed(in, out);
  whole.finish(out);
  EXPECT_EQ(out, want);
  EXPECT_EQ(whole.removed(), 2u);
  auth::results_filter bytes("mail.thainguyen.gov.vn");
  EXPECT_EQ(bytewise(bytes, in), want);
}

TEST(iprev, reverse_names) {
  EXPECT_EQ(auth::reverse_name("192.0.2.9"), "9.2.0.192.in-addr.arpa");
  EXPECT_EQ(auth::reverse_name("2001:db8::1"),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
  EXPECT_EQ(auth::reverse_name("mail.example.org"), "");
}

TEST(iprev, forward_confirmed_names_pass_and_the_rest_do_not) {
  fake_dns dns;
  dns.set("9.2.0.192.in-addr.arpa", dns_type::ptr, {"other.example.", "Mail.Example.ORG."});
  dns.set("other.example", dns_type::a, {"198.51.100.1"});
  dns.set("mail.example.org", dns_type::a, {"198.51.100.2", "192.0.2.9"});
  auto r = auth::check_iprev(dns, "192.0.2.9");
  EXPECT_EQ(r.result, "pass");
  EXPECT_EQ(r.name, "mail.example.org");  // the name that led back, lower case, no root dot
  // A PTR name whose forward lookup gives other addresses, or none: fail.
  dns.set("10.2.0.192.in-addr.arpa", dns_type::ptr, {"other.example", "gone.example"});
  r = auth::check_iprev(dns, "192.0.2.10");
  EXPECT_EQ(r.result, "fail");
  EXPECT_EQ(r.name, "other.example");
  // No PTR data at all: permerror (RFC 8601 §2.7.3).
  EXPECT_EQ(auth::check_iprev(dns, "192.0.2.11").result, "permerror");
  // IPv6 compares addresses, not spellings.
  dns.set(auth::reverse_name("2001:db8::25"), dns_type::ptr, {"mx6.example.org"});
  dns.set("mx6.example.org", dns_type::aaaa, {"2001:0db8:0000:0000:0000:0000:0000:0025"});
  EXPECT_EQ(auth::check_iprev(dns, "2001:db8::25").result, "pass");
  // The resolver not answering is temperror, never fail.
  dns.down = true;
  EXPECT_EQ(auth::check_iprev(dns, "192.0.2.9").result, "temperror");
}

TEST(iprev, forward_lookups_are_capped_at_ten_names) {
  fake_dns dns;
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) {
    names.push_back("n" + std::to_string(i) + ".example");
  }
  dns.set("9.2.0.192.in-addr.arpa", dns_type::ptr, names);
  dns.set("n40.example", dns_type::a, {"192.0.2.9"});  // beyond the cap: never asked
  EXPECT_EQ(auth::check_iprev(dns, "192.0.2.9").result, "fail");
  EXPECT_EQ(dns.queries.load(), 11u);
}

TEST(dns_cache, answers_and_failures_are_kept_failures_only_briefly) {
  auto inner = std::make_shared<fake_dns>();
  inner->set("example.org", dns_type::txt, {"v=spf1 -all"});
  auto cached = make_caching_resolver(inner, std::chrono::seconds(300), 100, std::chrono::seconds(30));
  EXPECT_EQ(cached->query("example.org", dns_type::txt).records.at(0), "v=spf1 -all");
  EXPECT_EQ(cached->query("example.org", dns_type::txt).records.at(0), "v=spf1 -all");
  EXPECT_EQ(inner->queries.load(), 1u);
  // A name server that is down: the second message does not wait again.
  inner->down = true;
  EXPECT_EQ(cached->query("down.example", dns_type::txt).st, dns_answer::status::temperror);
  EXPECT_EQ(cached->query("down.example", dns_type::txt).st, dns_answer::status::temperror);
  EXPECT_EQ(inner->queries.load(), 2u);
  // Without a failure time, every question about a failing name is asked.
  auto uncached = make_caching_resolver(inner, std::chrono::seconds(300), 100, std::chrono::seconds(0));
  uncached->query("down.example", dns_type::txt);
  uncached->query("down.example", dns_type::txt);
  EXPECT_EQ(inner->queries.load(), 4u);
}

TEST(authentication_results, iprev_comes_first_with_the_address_and_name) {
  auth::iprev_result ip{"pass", "2001:db8::25", "mx6.example.org"};
  auth::spf_result spf{"pass", "example.org", false};
  auth::dkim_verdict dkim;
  auth::dmarc_result dmarc;
  const auto h = auth::authentication_results("mail.thainguyen.gov.vn", spf, dkim, dmarc, &ip);
  EXPECT_EQ(h.rfind("Authentication-Results: mail.thainguyen.gov.vn;\r\n\tiprev=pass policy.iprev=2001:db8::25 "
                    "(mx6.example.org);\r\n\tspf=pass", 0),
            0u)
      << h;
  auth::iprev_result odd{"fail", "1.2.3.4\r\nX: y", "a;b\r\n"};
  const auto bad = auth::authentication_results("mail.thainguyen.gov.vn", spf, dkim, dmarc, &odd);
  EXPECT_EQ(bad.find("\r\nX:"), std::string::npos);
  EXPECT_NE(bad.find("(a_b__)"), std::string::npos) << bad;
}

TEST(authentication_results, values_are_sanitised) {
  auth::spf_result spf{"pass", "ex\r\nample.org", false};
  auth::dkim_verdict dkim;
  dkim.signatures.push_back({"fail", "a;b", "s\r\nX: y", "bad"});
  auth::dmarc_result dmarc;
  const auto h = auth::authentication_results("mail.thainguyen.gov.vn", spf, dkim, dmarc);
  EXPECT_EQ(h.find("\r\nX:"), std::string::npos);
  EXPECT_NE(h.find("smtp.mailfrom=ex__ample.org"), std::string::npos);
  EXPECT_NE(h.find("dkim=fail (bad) header.d=a_b header.s=s__X__y"), std::string::npos);
}

}  // namespace
}  // namespace homthu::smtp::test
