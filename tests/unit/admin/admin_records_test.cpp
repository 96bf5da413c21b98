// The audit log is append-only even at the SQL level, filters work, and
// API tokens keep only a digest.
#include "homthu/storage/audit.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

using namespace homthu::storage;

namespace {

std::string temp_db() {
  auto dir = std::filesystem::temp_directory_path() / ("homthu-audit-" + std::to_string(::getpid()) + "-" +
                                                       std::to_string(std::rand()));
  std::filesystem::create_directories(dir);
  return (dir / "admin.db").string();
}

audit_record rec(std::string actor, std::string action, std::string target, std::int64_t t) {
  audit_record r;
  r.time_ms = t;
  r.actor = std::move(actor);
  r.action = std::move(action);
  r.target = std::move(target);
  r.client = "127.0.0.1";
  r.outcome = "ok";
  r.detail = "{}";
  return r;
}

}  // namespace

TEST(AuditLog, AppendQueryAndFilter) {
  auto path = temp_db();
  auto db = open_admin_records(path, false);
  ASSERT_TRUE(db->append(rec("admin", "account.create", "a@x", 1000)));
  ASSERT_TRUE(db->append(rec("qt.huyen-dai-tu", "account.modify", "b@x", 2000)));
  ASSERT_TRUE(db->append(rec("admin", "list.create", "l@x", 3000)));
  audit_query q;
  auto all = db->query(q);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->total, 3u);
  EXPECT_EQ(all->records.front().target, "l@x");  // newest first
  q.actor = "admin";
  q.action = "account.";
  auto f = db->query(q);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->total, 1u);
  EXPECT_EQ(f->records[0].target, "a@x");
  audit_query t;
  t.since_ms = 1500;
  t.until_ms = 3000;
  EXPECT_EQ(db->query(t)->total, 1u);
  audit_query wild;
  wild.action = "%";  // LIKE metacharacters are literal
  EXPECT_EQ(db->query(wild)->total, 0u);
}

TEST(AuditLog, RowsCannotBeChangedOrDeleted) {
  auto path = temp_db();
  {
    auto db = open_admin_records(path, false);
    ASSERT_TRUE(db->append(rec("admin", "account.delete", "a@x", 1)));
  }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "UPDATE audit SET actor='someone'", nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(raw, "DELETE FROM audit", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(raw);
  auto db = open_admin_records(path, false);
  auto page = db->query({});
  ASSERT_EQ(page->total, 1u);
  EXPECT_EQ(page->records[0].actor, "admin");
}

TEST(ApiTokens, StoredAsDigestAndRevocable) {
  auto db = open_admin_records(temp_db(), false);
  api_token t;
  t.id = "abc";
  t.owner = "admin";
  t.label = "backup script";
  t.scope = "read";
  t.created_ms = 5;
  t.secret_sha256 = "00ff";
  ASSERT_TRUE(db->add_token(t));
  EXPECT_FALSE(db->add_token(t));  // id taken
  auto f = db->find_token("abc");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->secret_sha256, "00ff");
  EXPECT_FALSE(f->revoked);
  ASSERT_TRUE(db->revoke_token("abc"));
  EXPECT_TRUE(db->find_token("abc")->revoked);
  EXPECT_FALSE(db->find_token("nope"));
  auto l = db->list_tokens("admin");
  ASSERT_TRUE(l);
  ASSERT_EQ(l->size(), 1u);
  EXPECT_TRUE(l->front().secret_sha256.empty());  // listings never carry digests
}
