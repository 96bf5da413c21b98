#include "homthu/common/address.hpp"
#include "homthu/common/log.hpp"

#include <gtest/gtest.h>

#include <set>

namespace hlog = homthu::common::log;
using homthu::common::canonical_address;
using homthu::common::split_address;

TEST(log, values_are_quoted_so_peers_cannot_forge_lines) {
  std::string out;
  hlog::append_field(out, "helo", "evil\r\nts=0 level=error event=fake");
  EXPECT_EQ(out, " helo=\"evil\\r\\nts=0 level=error event=fake\"");
  out.clear();
  hlog::append_field(out, "peer", "127.0.0.1");
  EXPECT_EQ(out, " peer=127.0.0.1");
  out.clear();
  hlog::append_field(out, "name", "");
  EXPECT_EQ(out, " name=\"\"");
  out.clear();
  hlog::append_field(out, "x", std::string("a\0b", 3));
  EXPECT_EQ(out, " x=\"a\\x00b\"");
}

TEST(log, utf8_stays_readable) {
  std::string out;
  hlog::append_field(out, "name", "Nguyễn Văn An");
  EXPECT_EQ(out, " name=\"Nguyễn Văn An\"");
}

TEST(log, session_ids_are_unique) {
  std::set<std::string> ids;
  for (int i = 0; i < 10000; ++i) {
    ids.insert(hlog::new_session_id());
  }
  EXPECT_EQ(ids.size(), 10000u);
}

TEST(address, canonical_form_lowercases) {
  EXPECT_EQ(canonical_address("AnNV@ThaiNguyen.Gov.VN"), "annv@thainguyen.gov.vn");
  EXPECT_EQ(split_address("a@b@c.vn")->local, "a@b");
}

TEST(address, rejects_what_rfc5321_limits_forbid) {
  EXPECT_FALSE(split_address("no-at-sign"));
  EXPECT_FALSE(split_address("@thainguyen.gov.vn"));
  EXPECT_FALSE(split_address("an@"));
  EXPECT_FALSE(split_address(std::string(65, 'a') + "@x.vn"));
  EXPECT_TRUE(split_address(std::string(64, 'a') + "@x.vn"));
  EXPECT_FALSE(split_address("a@" + std::string(256, 'b')));
  EXPECT_FALSE(split_address("a b@x.vn"));
  EXPECT_FALSE(split_address("a\r\n@x.vn"));
  EXPECT_FALSE(split_address("<a@x.vn>"));
}
