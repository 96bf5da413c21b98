#include "homthu/directory/demo.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <sstream>

namespace {

using namespace homthu::directory::demo;

options small(unsigned users, std::uint64_t seed = 7) {
  options o;
  o.users = users;
  o.seed = seed;
  o.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNo";
  return o;
}

TEST(demo, unit_tree_has_the_three_tiers) {
  auto units = thai_nguyen_units();
  std::map<unit_kind, int> count;
  std::set<std::string> ids;
  for (const auto& u : units) {
    ++count[u.kind];
    EXPECT_TRUE(ids.insert(u.id).second) << "duplicate id " << u.id;
    EXPECT_EQ(slugify(u.id), u.id);
  }
  EXPECT_EQ(count[unit_kind::department], 31);
  EXPECT_EQ(count[unit_kind::district], 9);
  EXPECT_EQ(count[unit_kind::commune], 180);
  EXPECT_TRUE(ids.count("so-noi-vu"));
  EXPECT_TRUE(ids.count("so-tai-chinh"));
  EXPECT_TRUE(ids.count("xa-tan-cuong"));
  EXPECT_TRUE(ids.count("tp-thai-nguyen"));
  EXPECT_TRUE(ids.count("huyen-vo-nhai"));
  for (const auto& u : units) {
    if (u.kind == unit_kind::commune) {
      EXPECT_TRUE(ids.count(u.parent)) << u.id;
    } else {
      EXPECT_TRUE(u.parent.empty());
    }
  }
}

TEST(demo, folding_and_slugs) {
  EXPECT_EQ(fold_ascii("Nguyễn Văn An"), "Nguyen Van An");
  EXPECT_EQ(fold_ascii("Đặng Thị Thủy"), "Dang Thi Thuy");
  EXPECT_EQ(slugify("Sở Nội vụ"), "so-noi-vu");
  EXPECT_EQ(slugify("Sở Lao động - Thương binh và Xã hội"), "so-lao-dong-thuong-binh-va-xa-hoi");
  EXPECT_EQ(slugify("Sở Văn hóa, Thể thao và Du lịch"), "so-van-hoa-the-thao-va-du-lich");
  EXPECT_EQ(slugify("Xã Tân Cương"), "xa-tan-cuong");
}

TEST(demo, local_part_rule) {
  EXPECT_EQ(local_part_for("Nguyễn", "Văn", "An"), "annv");
  EXPECT_EQ(local_part_for("Nguyễn", "Thị Thu", "Hà"), "hantt");
  EXPECT_EQ(local_part_for("Đặng", "Đức", "Đạt"), "datdd");
}

TEST(demo, deterministic_for_a_seed) {
  auto a = make_province(small(300, 42));
  auto b = make_province(small(300, 42));
  auto c = make_province(small(300, 43));
  std::ostringstream la, lb, lc;
  write_ldif(a, small(300, 42), la);
  write_ldif(b, small(300, 42), lb);
  write_ldif(c, small(300, 43), lc);
  EXPECT_EQ(la.str(), lb.str());
  EXPECT_NE(la.str(), lc.str());
}

TEST(demo, addresses_unique_ascii_and_follow_the_rule) {
  auto p = make_province(small(9000));
  ASSERT_EQ(p.people.size(), 9000u);
  std::set<std::string> seen;
  std::set<std::string> unit_ids;
  for (const auto& u : p.units) {
    unit_ids.insert(u.id);
  }
  int numbered = 0;
  for (const auto& who : p.people) {
    EXPECT_TRUE(seen.insert(who.address).second) << who.address;
    for (unsigned char ch : who.address) {
      EXPECT_LT(ch, 0x80);
    }
    auto base = local_part_for(who.family, who.middle, who.given);
    EXPECT_EQ(who.id.rfind(base, 0), 0u) << who.id << " vs " << base;
    if (who.id != base) {
      ++numbered;
      EXPECT_GE(std::stoi(who.id.substr(base.size())), 2);
    }
    EXPECT_EQ(who.address, who.id + "@thainguyen.gov.vn");
    EXPECT_TRUE(unit_ids.count(who.unit));
    EXPECT_EQ(who.display_name, who.family + " " + who.middle + " " + who.given);
  }
  // 9,000 Vietnamese names collide often; the numbering rule must be in use.
  EXPECT_GT(numbered, 100);
}

TEST(demo, family_names_have_realistic_frequencies) {
  auto p = make_province(small(9000));
  std::map<std::string, int> count;
  for (const auto& who : p.people) {
    ++count[who.family];
  }
  // Nguyễn is about 38% of the demo, the largest by far.
  EXPECT_GT(count["Nguyễn"], 3000);
  EXPECT_LT(count["Nguyễn"], 3900);
  EXPECT_GT(count["Trần"], count["Hoàng"]);
}

TEST(demo, every_tier_populated_even_when_small) {
  auto p = make_province(small(50));
  std::set<unit_kind> kinds;
  std::map<std::string, unit_kind> kind_of;
  for (const auto& u : p.units) {
    kind_of[u.id] = u.kind;
  }
  for (const auto& who : p.people) {
    kinds.insert(kind_of[who.unit]);
  }
  EXPECT_EQ(kinds.size(), 3u);
}

TEST(demo, ldif_has_lists_admins_and_shared_hash) {
  auto opt = small(20);
  auto p = make_province(opt);
  std::ostringstream out;
  write_ldif(p, opt, out);
  auto s = out.str();
  EXPECT_NE(s.find("dn: cn=toantinh,ou=lists,dc=thainguyen,dc=gov,dc=vn\n"), std::string::npos);
  EXPECT_NE(s.find("mail: toantinh@thainguyen.gov.vn\n"), std::string::npos);
  EXPECT_NE(s.find("dn: ou=xa-tan-cuong,ou=tp-thai-nguyen,ou=units,dc=thainguyen,dc=gov,dc=vn\n"),
            std::string::npos);
  EXPECT_NE(s.find("mail: admin@thainguyen.gov.vn\nhomthuMailEnabled: TRUE\n"), std::string::npos);
  EXPECT_NE(s.find("homthuRole: province-admin\n"), std::string::npos);
  EXPECT_NE(s.find("homthuAdminUnit: ou=huyen-dai-tu,ou=units,dc=thainguyen,dc=gov,dc=vn\n"),
            std::string::npos);
  // Every account (20 people + 11 administrators) carries the one hash.
  std::size_t n = 0;
  for (auto pos = s.find("userPassword: {ARGON2}" + opt.password_hash); pos != std::string::npos;
       pos = s.find("userPassword: {ARGON2}" + opt.password_hash, pos + 1)) {
    ++n;
  }
  EXPECT_EQ(n, 31u);
  // toantinh lists each person.
  auto list = s.substr(s.find("dn: cn=toantinh"));
  for (const auto& who : p.people) {
    EXPECT_NE(list.find("member: uid=" + who.id + ","), std::string::npos) << who.id;
  }
  // No raw non-ASCII in the LDIF (RFC 2849 SAFE-STRING): names are base64.
  for (unsigned char ch : s) {
    ASSERT_LT(ch, 0x80);
  }
}

TEST(demo, tsv_columns) {
  auto opt = small(5);
  auto p = make_province(opt);
  std::ostringstream out;
  write_accounts_tsv(p, out);
  std::istringstream in(out.str());
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "address\tid\tname\tunit");
  int rows = 0;
  while (std::getline(in, line)) {
    ++rows;
    EXPECT_EQ(std::count(line.begin(), line.end(), '\t'), 3);
  }
  EXPECT_EQ(rows, 5);
}

}  // namespace
