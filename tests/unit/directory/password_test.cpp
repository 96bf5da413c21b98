#include "homthu/directory/password.hpp"

#include <gtest/gtest.h>

namespace {

using namespace homthu::directory;

homthu::common::argon2_config cheap() {
  // The unit tests check behaviour, not cost; production cost is in config.
  homthu::common::argon2_config c;
  c.ops_limit = 1;
  c.mem_limit = 8192;
  return c;
}

TEST(password, hash_is_argon2id_and_verifies) {
  auto h = hash_password("Mật khẩu 123", cheap());
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rfind("$argon2id$v=19$", 0), 0u);
  EXPECT_TRUE(verify_password(*h, "Mật khẩu 123"));
  EXPECT_FALSE(verify_password(*h, "Mật khẩu 124"));
  EXPECT_FALSE(verify_password(*h, ""));
}

TEST(password, default_cost_is_owasp_minimum) {
  homthu::common::argon2_config def;
  auto h = hash_password("correct horse", def);
  ASSERT_TRUE(h);
  EXPECT_NE(h->find("m=19456,t=2,p=1"), std::string::npos) << *h;
}

TEST(password, salts_differ) {
  auto a = hash_password("same password", cheap());
  auto b = hash_password("same password", cheap());
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);
}

TEST(password, malformed_hash_is_no) {
  EXPECT_FALSE(verify_password("", "x"));
  EXPECT_FALSE(verify_password("{ARGON2}$argon2id$", "x"));
  EXPECT_FALSE(verify_password("$argon2id$v=19$m=8,t=1,p=1$AAAA$BBBB", "x"));
  EXPECT_FALSE(verify_password(std::string(4096, '$'), "x"));
}

TEST(password, verifies_hashes_made_by_libsodium_and_libargon2) {
  // Made by libsodium's crypto_pwhash_str (how homthu stored app passwords
  // before) and by libargon2's argon2id_hash_encoded (what slapd's module
  // uses), both for "password123" at m = 19 MiB, t = 2.
  const char* sodium = "$argon2id$v=19$m=19456,t=2,p=1$HLp/DYqoP8fTXOY5v6Ctnw$+TlrTWHS/UCuJvqVSD+VCCYtMR4jWq/v7dy/1xQWzIs";
  const char* argon2 = "$argon2id$v=19$m=19456,t=2,p=1$3LtXzPSkFL0Rwa0z1z/VPg$4FpaeNLulbWnc19XFe2HO9zP/W0YsBbnktFr2rcCBxM";
  EXPECT_TRUE(verify_password(sodium, "password123"));
  EXPECT_TRUE(verify_password(argon2, "password123"));
  EXPECT_FALSE(verify_password(sodium, "password124"));
  EXPECT_FALSE(verify_password(argon2, "Password123"));
}

TEST(password, hash_has_the_crypto_pwhash_str_shape) {
  auto h = hash_password("Mật khẩu 123", cheap());
  ASSERT_TRUE(h);
  // "$argon2id$v=19$m=8,t=1,p=1$" + 22 characters of salt + "$" + 43 of hash.
  const std::string head = "$argon2id$v=19$m=8,t=1,p=1$";
  ASSERT_EQ(h->rfind(head, 0), 0u) << *h;
  EXPECT_EQ(h->size(), head.size() + 22 + 1 + 43) << *h;
  EXPECT_EQ((*h)[head.size() + 22], '$') << *h;
}

TEST(password, hostile_parameters_are_no) {
  auto h = hash_password("correct horse", cheap());
  ASSERT_TRUE(h);
  auto with = [&](const std::string& from, const std::string& to) {
    std::string x = *h;
    x.replace(x.find(from), from.size(), to);
    return x;
  };
  EXPECT_TRUE(verify_password(*h, "correct horse"));
  EXPECT_FALSE(verify_password(with("m=8,", "m=08,"), "correct horse"));
  EXPECT_FALSE(verify_password(with("p=1", "p=2"), "correct horse"));
  EXPECT_FALSE(verify_password(with("v=19", "v=16"), "correct horse"));
  EXPECT_FALSE(verify_password(with("t=1", "t=0"), "correct horse"));
  EXPECT_FALSE(verify_password(with("m=8,", "m=99999999999,"), "correct horse"));
  EXPECT_FALSE(verify_password(*h + "=", "correct horse"));
  EXPECT_FALSE(verify_password(*h + "$", "correct horse"));
  EXPECT_FALSE(verify_password(with("$argon2id$", "$argon2d$"), "correct horse"));
}

TEST(password, problems) {
  EXPECT_EQ(password_problem("đủ tám ký tự"), "");
  EXPECT_NE(password_problem("short"), "");
  EXPECT_NE(password_problem(std::string(1025, 'a')), "");
  EXPECT_NE(password_problem("with\nnewline!"), "");
  EXPECT_NE(password_problem(std::string("nul\0inside", 10)), "");
  EXPECT_NE(password_problem("bad utf8 \xff\xfe here"), "");
  EXPECT_NE(password_problem("truncated \xe1\xbb"), "");
}

TEST(password, random_password_shape) {
  auto p = random_password(4);
  EXPECT_EQ(p.size(), 19u);
  EXPECT_EQ(password_problem(p), "");
  EXPECT_NE(random_password(4), p);
}

}  // namespace
