// The search index kept between requests: our own changes show at once,
// without relisting the directory, and lists expire.
#include "../../../admin/src/fold.hpp"
#include "../../../admin/src/state.hpp"

#include <gtest/gtest.h>

using namespace homthu::admin;
using namespace std::chrono_literals;
using homthu::directory::account;

namespace {

account acct(std::string id, std::string name) {
  account a;
  a.id = id;
  a.address = id + "@thainguyen.gov.vn";
  a.display_name = std::move(name);
  return a;
}

account_cache::list make(std::vector<account> v) {
  auto l = std::make_shared<std::vector<indexed_account>>();
  for (auto& a : v) {
    l->push_back({a, search_text(a)});
  }
  return l;
}

}  // namespace

TEST(AccountCache, ExpiresAfterTtl) {
  account_cache c(15s);
  auto t0 = clock_type::now();
  c.put("admin|", make({acct("a", "A")}), t0);
  EXPECT_TRUE(c.get("admin|", t0 + 14s));
  EXPECT_FALSE(c.get("admin|", t0 + 15s));
  EXPECT_FALSE(c.get("other|", t0));
}

TEST(AccountCache, UpdateReplacesInEveryListAndRefolds) {
  account_cache c(15s);
  auto t0 = clock_type::now();
  c.put("admin|", make({acct("a", "An"), acct("b", "Bình")}), t0);
  c.put("qt|", make({acct("b", "Bình")}), t0);
  auto before = c.get("admin|", t0);
  c.update(acct("b", "Đặng Bình"));
  EXPECT_EQ((*before)[1].acct.display_name, "Bình");  // readers keep their snapshot
  auto l = c.get("admin|", t0);
  EXPECT_EQ((*l)[1].acct.display_name, "Đặng Bình");
  EXPECT_NE((*l)[1].folded.find("dang binh"), std::string::npos);
  EXPECT_EQ((*c.get("qt|", t0))[0].acct.display_name, "Đặng Bình");
}

TEST(AccountCache, RemoveAndCreated) {
  account_cache c(15s);
  auto t0 = clock_type::now();
  c.put("admin|", make({acct("a", "A"), acct("c", "C")}), t0);
  c.put("admin|xa-tan-cuong", make({acct("c", "C")}), t0);
  c.remove("c");
  EXPECT_EQ(c.get("admin|", t0)->size(), 1u);
  EXPECT_TRUE(c.get("admin|xa-tan-cuong", t0)->empty());
  c.created("admin|", acct("b", "B"));
  auto l = c.get("admin|", t0);
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[1].acct.id, "b");  // kept sorted by address
  EXPECT_FALSE(c.get("admin|xa-tan-cuong", t0));  // other lists dropped
}
