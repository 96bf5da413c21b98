// Sessions (expiry, fixation, CSRF token) and the login throttle.
#include "../../../admin/src/auth.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace homthu::admin;
using namespace std::chrono_literals;

namespace {

session_data who(const std::string& id) {
  session_data s;
  s.account_id = id;
  s.role = "unit-admin";
  return s;
}

}  // namespace

TEST(Sessions, EachSignInGetsFreshRandomIdAndCsrf) {
  session_store st(30min, 12h);
  auto t0 = clock_type::now();
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    auto s = st.create(who("a"), t0);
    EXPECT_GE(s.id.size(), 43u);  // 256 bits in base64url
    EXPECT_NE(s.id, s.csrf);
    EXPECT_TRUE(ids.insert(s.id).second);
  }
}

TEST(Sessions, PresentedIdIsNeverAdopted) {
  session_store st(30min, 12h);
  auto in = who("a");
  in.id = "attacker-chosen";
  auto s = st.create(in, clock_type::now());
  EXPECT_NE(s.id, "attacker-chosen");
  EXPECT_FALSE(st.touch("attacker-chosen", clock_type::now()));
}

TEST(Sessions, IdleExpiry) {
  session_store st(30min, 12h);
  auto t0 = clock_type::now();
  auto s = st.create(who("a"), t0);
  ASSERT_TRUE(st.touch(s.id, t0 + 29min));
  EXPECT_TRUE(st.touch(s.id, t0 + 58min));  // activity restarts the idle timer
  EXPECT_FALSE(st.touch(s.id, t0 + 58min + 30min));
  EXPECT_FALSE(st.touch(s.id, t0 + 59min));  // gone for good
}

TEST(Sessions, AbsoluteExpiryDespiteActivity) {
  session_store st(30min, 2h);
  auto t0 = clock_type::now();
  auto s = st.create(who("a"), t0);
  for (auto t = t0; t < t0 + 2h; t += 20min) {
    ASSERT_TRUE(st.touch(s.id, t));
  }
  EXPECT_FALSE(st.touch(s.id, t0 + 2h));
}

TEST(Sessions, RemoveAccountEndsAllItsSessions) {
  session_store st(30min, 12h);
  auto t0 = clock_type::now();
  auto a1 = st.create(who("a"), t0);
  auto a2 = st.create(who("a"), t0);
  auto b = st.create(who("b"), t0);
  EXPECT_EQ(st.remove_account("a"), 2u);
  EXPECT_FALSE(st.touch(a1.id, t0));
  EXPECT_FALSE(st.touch(a2.id, t0));
  EXPECT_TRUE(st.touch(b.id, t0));
}

TEST(Sessions, EnrolOnlyIsSetPerSessionAndRestrictedPerAccount) {
  session_store st(30min, 12h);
  auto t0 = clock_type::now();
  auto w = who("a");
  w.enrol_only = true;
  auto a1 = st.create(w, t0);
  auto a2 = st.create(who("a"), t0);
  auto b = st.create(who("b"), t0);
  EXPECT_TRUE(st.touch(a1.id, t0)->enrol_only);
  EXPECT_TRUE(st.set_enrol_only(a1.id, false));
  EXPECT_FALSE(st.touch(a1.id, t0)->enrol_only);
  EXPECT_FALSE(st.set_enrol_only("no-such-session", false));
  EXPECT_EQ(st.restrict_account_to_enrolment("a"), 2u);
  EXPECT_TRUE(st.touch(a1.id, t0)->enrol_only);
  EXPECT_TRUE(st.touch(a2.id, t0)->enrol_only);
  EXPECT_FALSE(st.touch(b.id, t0)->enrol_only);
}

TEST(Csrf, ComparisonIsExact) {
  EXPECT_TRUE(equal_constant_time("abc", "abc"));
  EXPECT_FALSE(equal_constant_time("abc", "abd"));
  EXPECT_FALSE(equal_constant_time("abc", "ab"));
  EXPECT_FALSE(equal_constant_time("", "abc"));
}

TEST(Digest, Sha256KnownAnswer) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Limiter, BlocksIpAfterLimitThenRecovers) {
  login_limiter l(5);
  auto t0 = clock_type::now();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(l.blocked_for("10.0.0.1", "u" + std::to_string(i), t0).count(), 0);
    l.failure("10.0.0.1", "u" + std::to_string(i), t0);
  }
  EXPECT_GT(l.blocked_for("10.0.0.1", "other", t0 + 1s).count(), 0);
  EXPECT_EQ(l.blocked_for("10.0.0.2", "other", t0 + 1s).count(), 0);  // other IPs unaffected
  EXPECT_EQ(l.blocked_for("10.0.0.1", "other", t0 + 61s).count(), 0);
}

TEST(Limiter, LocksAccountAgainstDistributedGuessing) {
  login_limiter l(3);
  auto t0 = clock_type::now();
  for (int i = 0; i < 3; ++i) {
    l.failure("10.0.0." + std::to_string(i), "victim", t0);
  }
  EXPECT_GT(l.blocked_for("10.9.9.9", "victim", t0).count(), 0);
  EXPECT_EQ(l.blocked_for("10.9.9.9", "someone-else", t0).count(), 0);
  // Temporary: an attacker cannot keep an account locked without failing.
  EXPECT_EQ(l.blocked_for("10.9.9.9", "victim", t0 + 60s).count(), 0);
}

TEST(Limiter, SuccessClearsAccountCounter) {
  login_limiter l(3);
  auto t0 = clock_type::now();
  l.failure("10.0.0.1", "a", t0);
  l.failure("10.0.0.2", "a", t0);
  l.success("a");
  l.failure("10.0.0.3", "a", t0);
  EXPECT_EQ(l.blocked_for("10.0.0.4", "a", t0).count(), 0);
}
