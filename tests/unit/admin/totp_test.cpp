// TOTP against RFC 6238 Appendix B (the SHA-1 rows) and RFC 4226
// Appendix D, base32 against RFC 4648 §10, the ±1 step window, the replay
// guard, and the second-factor store in SQLite.
#include "../../../admin/src/totp.hpp"
#include "../../../admin/src/totp_store.hpp"

#include <gtest/gtest.h>

#include <filesystem>

using namespace homthu::admin;

namespace {

// RFC 6238 Appendix B: the SHA-1 seed is the ASCII string "12345678901234567890".
const std::string rfc_key = "12345678901234567890";

}  // namespace

TEST(Totp, Rfc6238AppendixBSha1) {
  struct row {
    std::int64_t time;
    const char* code;
  } rows[] = {
      {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
      {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
  };
  for (const auto& r : rows) {
    EXPECT_EQ(totp::code_at(rfc_key, r.time, 8), r.code) << r.time;
    // Six digits are the last six of the eight (the same value mod 10^6).
    EXPECT_EQ(totp::code_at(rfc_key, r.time), std::string(r.code).substr(2)) << r.time;
  }
}

TEST(Totp, Rfc4226AppendixDHotp) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (std::uint64_t i = 0; i < 10; ++i) {
    EXPECT_EQ(totp::hotp(rfc_key, i), expected[i]) << i;
  }
}

TEST(Totp, StepsAreThirtySeconds) {
  EXPECT_EQ(totp::step_of(0), 0);
  EXPECT_EQ(totp::step_of(29), 0);
  EXPECT_EQ(totp::step_of(30), 1);
  EXPECT_EQ(totp::step_of(59), 1);
  EXPECT_EQ(totp::code_at(rfc_key, 59), totp::code_at(rfc_key, 30));
}

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(totp::base32_encode(""), "");
  EXPECT_EQ(totp::base32_encode("f"), "MY");
  EXPECT_EQ(totp::base32_encode("fo"), "MZXQ");
  EXPECT_EQ(totp::base32_encode("foo"), "MZXW6");
  EXPECT_EQ(totp::base32_encode("foob"), "MZXW6YQ");
  EXPECT_EQ(totp::base32_encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(totp::base32_encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(totp::base32_encode(rfc_key), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
  EXPECT_EQ(totp::base32_decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(totp::base32_decode("mzxw 6ytb oi"), "foobar");
  EXPECT_FALSE(totp::base32_decode("MZXW1"));  // 1 is not in the alphabet
}

TEST(Totp, AcceptsOneStepEitherSideOnly) {
  const std::int64_t t = 1111111111;  // step 37037037
  const auto now = totp::step_of(t);
  EXPECT_EQ(totp::match(rfc_key, totp::code_at(rfc_key, t), t, -1), now);
  EXPECT_EQ(totp::match(rfc_key, totp::code_at(rfc_key, t - 30), t, -1), now - 1);
  EXPECT_EQ(totp::match(rfc_key, totp::code_at(rfc_key, t + 30), t, -1), now + 1);
  EXPECT_FALSE(totp::match(rfc_key, totp::code_at(rfc_key, t - 60), t, -1));
  EXPECT_FALSE(totp::match(rfc_key, totp::code_at(rfc_key, t + 60), t, -1));
}

TEST(Totp, RefusesUsedStepsAndMalformedCodes) {
  const std::int64_t t = 1234567890;
  const auto code = totp::code_at(rfc_key, t);
  const auto step = totp::step_of(t);
  EXPECT_FALSE(totp::match(rfc_key, code, t, step));      // the same code again
  EXPECT_FALSE(totp::match(rfc_key, code, t, step + 1));  // a later one was used
  EXPECT_EQ(totp::match(rfc_key, code.substr(0, 3) + " " + code.substr(3), t, -1), step);
  EXPECT_FALSE(totp::match(rfc_key, "", t, -1));
  EXPECT_FALSE(totp::match(rfc_key, code.substr(0, 5), t, -1));
  EXPECT_FALSE(totp::match(rfc_key, code + "0", t, -1));
  EXPECT_FALSE(totp::match(rfc_key, "12345a", t, -1));
  EXPECT_FALSE(totp::match("another key of twenty", code, t, -1));
}

TEST(Totp, UriForAuthenticatorApps) {
  EXPECT_EQ(totp::uri("mail.thainguyen.gov.vn", "admin@thainguyen.gov.vn", rfc_key),
            "otpauth://totp/mail.thainguyen.gov.vn:admin%40thainguyen.gov.vn"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=mail.thainguyen.gov.vn"
            "&algorithm=SHA1&digits=6&period=30");
}

class TotpStore : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("homthu-totp-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    path_ = (dir_ / "admin.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

// admin.db holds TOTP secrets and token hashes: only its owner may read it,
// even when it was made earlier with a wider mode.
TEST_F(TotpStore, DatabaseIsOwnerOnly) {
  namespace fs = std::filesystem;
  { totp_store s(path_, false); }
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(path_, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  { totp_store s(path_, false); }
  EXPECT_EQ(fs::status(path_).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(TotpStore, EnrolConfirmUseRemove) {
  totp_store s(path_, false);
  EXPECT_FALSE(s.get("admin").value());
  ASSERT_TRUE(s.begin("admin", "first-secret", 1).value());
  ASSERT_TRUE(s.begin("admin", "second-secret", 2).value());  // restart replaces the pending one
  auto e = s.get("admin").value();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->secret, "second-secret");
  EXPECT_FALSE(e->confirmed);
  EXPECT_FALSE(s.use("admin", 5).value());                    // not confirmed: no sign-in use
  EXPECT_FALSE(s.confirm("admin", "first-secret", 10).value());
  ASSERT_TRUE(s.confirm("admin", "second-secret", 10).value());
  EXPECT_FALSE(s.begin("admin", "third", 3).value());         // confirmed: no silent replacement
  EXPECT_FALSE(s.use("admin", 10).value());                   // the confirming code is spent
  EXPECT_TRUE(s.use("admin", 11).value());
  EXPECT_FALSE(s.use("admin", 11).value());                   // replay
  EXPECT_FALSE(s.use("admin", 9).value());
  EXPECT_EQ(s.get("admin").value()->last_step, 11);
  EXPECT_TRUE(s.remove("admin").value());
  EXPECT_FALSE(s.remove("admin").value());
  EXPECT_FALSE(s.get("admin").value());
}

TEST_F(TotpStore, SurvivesReopenAndBinarySecrets) {
  const std::string secret("\0\x01\xff secret\0", 11);
  {
    totp_store s(path_, true);
    ASSERT_TRUE(s.begin("qt.huyen-dai-tu", secret, 1).value());
    ASSERT_TRUE(s.confirm("qt.huyen-dai-tu", secret, 7).value());
  }
  totp_store s(path_, true);
  auto e = s.get("qt.huyen-dai-tu").value();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->secret, secret);
  EXPECT_TRUE(e->confirmed);
  EXPECT_FALSE(s.use("qt.huyen-dai-tu", 7).value());
}
