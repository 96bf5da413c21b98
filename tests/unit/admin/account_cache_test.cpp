// The search index kept between requests: our own changes show at once,
// without relisting the directory, stale lists are refreshed in the
// background once, and lists expire.
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

TEST(AccountCache, ExpiresAfterMaxAge) {
  account_cache c(10s, 600s);
  auto t0 = clock_type::now();
  c.put("admin|", make({acct("a", "A")}), t0);
  EXPECT_TRUE(c.get("admin|", t0 + 599s));
  EXPECT_FALSE(c.get("admin|", t0 + 600s));
  EXPECT_FALSE(c.get("other|", t0));
}

TEST(AccountCache, OneBackgroundRefreshAfterFresh) {
  account_cache c(10s, 600s);
  auto t0 = clock_type::now();
  c.put("admin|", make({acct("a", "A")}), t0);
  EXPECT_FALSE(c.claim_refresh("admin|", t0 + 9s));   // still fresh
  EXPECT_TRUE(c.claim_refresh("admin|", t0 + 10s));   // stale: one reader starts a refresh
  EXPECT_FALSE(c.claim_refresh("admin|", t0 + 11s));  // the others keep the old list
  EXPECT_EQ(c.get("admin|", t0 + 11s)->size(), 1u);
  auto gen = c.generation();
  c.refreshed("admin|", make({acct("a", "A"), acct("b", "B")}), t0 + 12s, gen);
  EXPECT_EQ(c.get("admin|", t0 + 12s)->size(), 2u);
  EXPECT_FALSE(c.claim_refresh("admin|", t0 + 21s));  // fresh again from t0 + 12s
  EXPECT_TRUE(c.claim_refresh("admin|", t0 + 22s));
  EXPECT_FALSE(c.claim_refresh("other|", t0 + 22s));
}

TEST(AccountCache, RefreshStartedBeforeOurChangeIsDiscarded) {
  account_cache c(10s, 600s);
  auto t0 = clock_type::now();
  c.put("admin|", make({acct("a", "An")}), t0);
  ASSERT_TRUE(c.claim_refresh("admin|", t0 + 10s));
  auto gen = c.generation();
  c.update(acct("a", "An Mới"));  // our write lands while the listing runs
  c.refreshed("admin|", make({acct("a", "An")}), t0 + 11s, gen);
  EXPECT_EQ((*c.get("admin|", t0 + 11s))[0].acct.display_name, "An Mới");
  EXPECT_TRUE(c.claim_refresh("admin|", t0 + 11s));  // the claim was released
  c.refreshed("admin|", nullptr, t0 + 12s, c.generation());  // failed refresh keeps the list
  EXPECT_TRUE(c.get("admin|", t0 + 12s));
  c.drop("admin|");
  EXPECT_FALSE(c.get("admin|", t0 + 12s));
}

TEST(AccountCache, UpdateReplacesInEveryListAndRefolds) {
  account_cache c(10s, 600s);
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
  account_cache c(10s, 600s);
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
