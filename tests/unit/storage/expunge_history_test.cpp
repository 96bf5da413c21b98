// The expunged-uid history behind QRESYNC VANISHED (RFC 7162): trimmed per
// mailbox by age and count, with a floor below which changes_since reports
// every uid the mailbox no longer holds instead of the exact list.

#include "test_util.hpp"

#include <sqlite3.h>

namespace homthu::storage::testing {
namespace {

using namespace std::chrono_literals;

class expunge_history_test : public store_test {
 protected:
  void open_with(std::uint64_t keep, std::chrono::seconds age) {
    store_options o;
    o.expunge_history_keep = keep;
    o.expunge_history_age = age;
    store_test::open_with(o);
  }
  // Delivers n messages to an's INBOX; returns the mailbox id.
  std::int64_t fill(int n) {
    for (int i = 0; i < n; ++i) {
      EXPECT_FALSE(deliver_to("an", simple_message("h" + std::to_string(i))).ec);
    }
    return mailbox_id("an", "INBOX");
  }
  // Expunges one uid on its own (its own MODSEQ); returns the MODSEQ after.
  std::uint64_t expunge_one(std::int64_t mb, std::uint32_t uid) {
    flags del;
    del.system = flag_deleted;
    std::vector<std::uint32_t> one{uid};
    EXPECT_TRUE(s_->store_flags("an", mb, one, flag_op::add, del, std::nullopt));
    auto r = s_->expunge("an", mb, std::span<const std::uint32_t>(one));
    EXPECT_TRUE(r && *r == one) << uid;
    return s_->status("an", "INBOX")->highest_modseq;
  }
  std::vector<std::uint32_t> vanished_since(std::int64_t mb, std::uint64_t modseq, bool& exact) {
    auto ch = s_->changes_since("an", mb, modseq);
    EXPECT_TRUE(ch);
    exact = ch ? ch->expunged_exact : false;
    return ch ? ch->expunged : std::vector<std::uint32_t>{};
  }
};

using uids = std::vector<std::uint32_t>;

TEST_F(expunge_history_test, recent_history_is_kept_exactly) {
  open_with(100, 30 * 24h);
  auto mb = fill(6);
  auto start = s_->status("an", "INBOX")->highest_modseq;
  for (std::uint32_t u : {1, 2, 3, 4}) {
    expunge_one(mb, u);
  }
  bool exact = false;
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1, 2, 3, 4}));
  EXPECT_TRUE(exact);
  EXPECT_EQ(s_->changes_since("an", mb, start)->expunge_floor, 0u);
}

TEST_F(expunge_history_test, old_entries_beyond_the_newest_are_trimmed) {
  open_with(2, 0s);  // every entry is "old": only the newest two stay
  auto mb = fill(6);
  auto start = s_->status("an", "INBOX")->highest_modseq;
  auto after1 = expunge_one(mb, 1);
  auto after2 = expunge_one(mb, 2);
  auto after3 = expunge_one(mb, 3);
  expunge_one(mb, 5);

  // Since a MODSEQ still covered by the history: the exact list.
  bool exact = false;
  EXPECT_EQ(vanished_since(mb, after2, exact), (uids{3, 5}));
  EXPECT_TRUE(exact);
  EXPECT_EQ(vanished_since(mb, after3, exact), (uids{5}));
  EXPECT_TRUE(exact);
  auto ch = s_->changes_since("an", mb, after2);
  EXPECT_EQ(ch->expunge_floor, after2);

  // Since a MODSEQ below the floor: every uid below UIDNEXT not in the
  // mailbox (4 and 6 are still there), never one that is present.
  EXPECT_EQ(vanished_since(mb, after1, exact), (uids{1, 2, 3, 5}));
  EXPECT_FALSE(exact);
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1, 2, 3, 5}));
  EXPECT_FALSE(exact);
  // The flag changes since then are still reported in full.
  EXPECT_EQ(s_->changes_since("an", mb, start)->changed.size(), 0u);

  // New mail after a gap in uids: the fallback stops below UIDNEXT.
  ASSERT_FALSE(deliver_to("an", simple_message("late")).ec);
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1, 2, 3, 5}));
  auto left = s_->messages("an", mb);
  ASSERT_EQ(left->size(), 3u);
  EXPECT_EQ((*left)[2].uid, 7u);
}

TEST_F(expunge_history_test, young_entries_are_kept_whatever_their_number) {
  open_with(0, 24h);
  auto mb = fill(5);
  auto start = s_->status("an", "INBOX")->highest_modseq;
  for (std::uint32_t u : {1, 2, 3, 4, 5}) {
    expunge_one(mb, u);
  }
  bool exact = false;
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1, 2, 3, 4, 5}));
  EXPECT_TRUE(exact);
}

TEST_F(expunge_history_test, one_expunge_of_many_uids_is_trimmed_whole) {
  open_with(1, 0s);
  auto mb = fill(5);
  flags del;
  del.system = flag_deleted;
  ASSERT_TRUE(s_->store_flags("an", mb, uids{1, 2, 3}, flag_op::add, del, std::nullopt));
  auto before = s_->status("an", "INBOX")->highest_modseq;
  ASSERT_TRUE(s_->expunge("an", mb, std::nullopt));
  // Three entries share one MODSEQ: keeping "the newest one" keeps the group.
  bool exact = false;
  EXPECT_EQ(vanished_since(mb, before, exact), (uids{1, 2, 3}));
  EXPECT_TRUE(exact);
  auto after = expunge_one(mb, 4);
  EXPECT_EQ(vanished_since(mb, after - 1, exact), (uids{4}));
  EXPECT_TRUE(exact);
  EXPECT_EQ(vanished_since(mb, before, exact), (uids{1, 2, 3, 4}));
  EXPECT_FALSE(exact);
}

TEST_F(expunge_history_test, move_records_and_trims_the_source_history) {
  open_with(0, 0s);
  auto mb = fill(3);
  auto start = s_->status("an", "INBOX")->highest_modseq;
  ASSERT_TRUE(s_->create_mailbox("an", "Luu tru"));
  ASSERT_TRUE(s_->copy("an", mb, uids{2}, "Luu tru", true, 0, 0));
  auto after = s_->status("an", "INBOX")->highest_modseq;
  bool exact = false;
  EXPECT_EQ(vanished_since(mb, after, exact), uids{});
  EXPECT_TRUE(exact);
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{2}));
  EXPECT_FALSE(exact);
}

TEST_F(expunge_history_test, floor_survives_reopen) {
  open_with(0, 0s);
  auto mb = fill(2);
  auto start = s_->status("an", "INBOX")->highest_modseq;
  auto after = expunge_one(mb, 1);
  open_with(100, 30 * 24h);
  bool exact = true;
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1}));
  EXPECT_FALSE(exact);
  EXPECT_EQ(s_->changes_since("an", mb, start)->expunge_floor, after);
}

TEST_F(expunge_history_test, database_without_history_columns_is_migrated) {
  open_with(100, 30 * 24h);
  auto mb = fill(4);
  auto start = s_->status("an", "INBOX")->highest_modseq;
  expunge_one(mb, 1);
  s_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ + "/mail.db").c_str(), &db), SQLITE_OK);
    for (const char* sql : {"ALTER TABLE expunged DROP COLUMN at", "ALTER TABLE mailboxes DROP COLUMN expunge_floor"}) {
      ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    }
    sqlite3_close(db);
  }
  // Entries from before the upgrade count as made at the upgrade: a 1-day
  // age keeps them, while keep = 0 would otherwise drop them.
  open_with(0, 24h);
  expunge_one(mb, 2);
  bool exact = false;
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1, 2}));
  EXPECT_TRUE(exact);
  open_with(0, 0s);
  expunge_one(mb, 3);
  EXPECT_EQ(vanished_since(mb, start, exact), (uids{1, 2, 3}));
  EXPECT_FALSE(exact);
}

}  // namespace
}  // namespace homthu::storage::testing
