// Full-text search as IMAP SEARCH uses it, with Vietnamese text: diacritics
// and case ignored, đ folded to d, fields kept apart.

#include "../../../storage/src/db/sqlite.hpp"
#include "test_util.hpp"

#include <filesystem>

namespace homthu::storage::testing {
namespace {

class search_test : public store_test {
 protected:
  void SetUp() override {
    store_test::SetUp();
    auto vn = read_file(std::string(HOMTHU_TEST_DATA) + "/storage/vn-multipart.eml");
    ASSERT_FALSE(deliver_to("an", vn).ec);                                           // uid 1
    ASSERT_FALSE(deliver_to("an", simple_message("Lịch họp", "Họp giao ban tuần.\r\n")).ec);  // uid 2
    ASSERT_FALSE(deliver_to("an", simple_message("Báo cáo", "Đà Nẵng và Hà Nội\r\n")).ec);     // uid 3
    mb_ = mailbox_id("an", "INBOX");
  }
  std::vector<std::uint32_t> find(text_field f, std::string_view q) {
    auto r = s_->search_text("an", mb_, f, q);
    EXPECT_TRUE(r) << q;
    return r ? *r : std::vector<std::uint32_t>{};
  }
  // Through fts5vocab, since a contentless table cannot be scanned.
  static std::int64_t docs_with(db::connection& c, std::string_view term) {
    c.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_rows USING fts5vocab(main, fts, row)");
    auto q = c.prepare("SELECT coalesce((SELECT doc FROM temp.fts_rows WHERE term = ?), 0)");
    q.bind(1, term);
    EXPECT_TRUE(q.step());
    return q.i64(0);
  }
  static std::int64_t indexed_blobs(db::connection& c) {
    c.exec("CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_instances USING fts5vocab(main, fts, instance)");
    auto q = c.prepare("SELECT count(DISTINCT doc) FROM temp.fts_instances");
    EXPECT_TRUE(q.step());
    return q.i64(0);
  }
  using v = std::vector<std::uint32_t>;
  std::int64_t mb_ = 0;
};

TEST_F(search_test, diacritics_and_case_are_ignored) {
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});
  EXPECT_EQ(find(text_field::text, "HÀNH CHÍNH"), v{1});
  EXPECT_EQ(find(text_field::text, "Thái Nguyên"), v{1});  // the html part says THAI NGUYEN
  EXPECT_EQ(find(text_field::text, "hop giao ban"), v{2});
}

TEST_F(search_test, vietnamese_d_is_folded_both_ways) {
  EXPECT_EQ(find(text_field::text, "da nang"), v{3});
  EXPECT_EQ(find(text_field::text, "Đà Nẵng"), v{3});
  EXPECT_EQ(find(text_field::body, "dai tu"), v{1});
  EXPECT_EQ(find(text_field::subject, "dot 2"), v{1});
}

TEST_F(search_test, fields_are_separate) {
  EXPECT_EQ(find(text_field::subject, "lich hop"), v{2});
  EXPECT_EQ(find(text_field::body, "lich hop"), v{});
  EXPECT_EQ(find(text_field::from, "van thu so noi vu"), v{1});
  EXPECT_EQ(find(text_field::from, "an@thainguyen.gov.vn"), (v{2, 3}));
  EXPECT_EQ(find(text_field::to, "nguyen van binh"), v{1});
  EXPECT_EQ(find(text_field::cc, "binh"), v{});
  EXPECT_EQ(find(text_field::body, "cong-van.pdf"), v{});  // attachments are not text
}

TEST_F(search_test, words_match_as_prefixes_and_all_must_match) {
  EXPECT_EQ(find(text_field::text, "hanh chin"), v{1});
  EXPECT_EQ(find(text_field::text, "hanh nonexistentword"), v{});
}

TEST_F(search_test, query_syntax_is_inert) {
  EXPECT_EQ(find(text_field::text, "\"hanh\" * ( ) ^ - :chinh"), v{1});
  EXPECT_EQ(find(text_field::text, "hanh OR xyzzy"), v{});  // OR is a word here, not an operator
  EXPECT_EQ(find(text_field::text, "subject:hop"), v{});
  EXPECT_EQ(find(text_field::text, ""), (v{1, 2, 3}));
}

TEST_F(search_test, expunged_messages_are_not_found) {
  flags del;
  del.system = flag_deleted;
  ASSERT_TRUE(s_->store_flags("an", mb_, std::vector<std::uint32_t>{3}, flag_op::add, del, std::nullopt));
  ASSERT_TRUE(s_->expunge("an", mb_, std::nullopt));
  EXPECT_EQ(find(text_field::text, "da nang"), v{});
  ASSERT_TRUE(s_->collect_garbage(std::chrono::seconds(0)));
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});
  auto f = s_->fsck(false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean());
}

// The index is written after the delivery's commit. A crash before that
// leaves the messages in fts_pending, with nothing in memory: the next start
// indexes them again from the stored messages, and a search never misses
// them, whether the background got there first or not.
TEST_F(search_test, an_index_lost_in_a_crash_is_rebuilt_from_the_stored_messages) {
  s_.reset();
  {
    db::connection c(root_ + "/mail.db", false, true);
    c.exec("INSERT INTO fts(fts) VALUES('delete-all')");
    c.exec("INSERT OR IGNORE INTO fts_pending(blob_id) SELECT id FROM blobs");
    auto n = c.prepare("SELECT count(*) FROM fts_pending");
    ASSERT_TRUE(n.step());
    ASSERT_EQ(n.i64(0), 3);
  }
  open();
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});
  EXPECT_EQ(find(text_field::subject, "lich hop"), v{2});
  EXPECT_EQ(find(text_field::text, "da nang"), v{3});
  EXPECT_EQ(find(text_field::from, "an@thainguyen.gov.vn"), (v{2, 3}));
  ASSERT_FALSE(deliver_to("an", simple_message("Mới", "Tin nhắn thứ tư\r\n")).ec);
  EXPECT_EQ(find(text_field::body, "tin nhan thu tu"), v{4});
  s_.reset();
  db::connection c(root_ + "/mail.db", false, true);
  auto n = c.prepare("SELECT count(*) FROM fts_pending");
  ASSERT_TRUE(n.step());
  EXPECT_EQ(n.i64(0), 0);
  EXPECT_EQ(indexed_blobs(c), 4);
}

// The index keeps no copy of the text; garbage collection deletes a
// message's entries with the texts parsed again from the message.
TEST_F(search_test, garbage_collection_deletes_a_messages_index_entries) {
  ASSERT_FALSE(deliver_to("an", simple_message("Kỳ lân", "Zebracorn quokkafish.\r\n")).ec);  // uid 4
  EXPECT_EQ(find(text_field::text, "zebracorn"), v{4});
  auto docs = [&](std::string_view term) {
    s_.reset();
    db::connection c(root_ + "/mail.db", false, true);
    auto n = docs_with(c, term);
    open();
    return n;
  };
  EXPECT_EQ(docs("zebracorn"), 1);
  EXPECT_EQ(docs("ky"), 1);
  EXPECT_EQ(docs("hanh"), 1);
  flags del;
  del.system = flag_deleted;
  ASSERT_TRUE(s_->store_flags("an", mb_, std::vector<std::uint32_t>{4}, flag_op::add, del, std::nullopt));
  ASSERT_TRUE(s_->expunge("an", mb_, std::nullopt));
  auto gc = s_->collect_garbage(std::chrono::seconds(0));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_EQ(gc->index_entries_left, 0u);
  EXPECT_EQ(docs("zebracorn"), 0);
  EXPECT_EQ(docs("quokkafish"), 0);
  EXPECT_EQ(docs("ky"), 0);
  EXPECT_EQ(docs("hanh"), 1);  // the other messages' entries stay
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});
  auto f = s_->fsck(false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << f->problems.at(0);
}

// When a message cannot be read again, its entries stay; the next blob
// must not take its id, or it would be found by the old message's words.
TEST_F(search_test, entries_left_by_an_unreadable_message_never_match_another) {
  ASSERT_FALSE(deliver_to("an", simple_message("Kỳ lân", "Zebracorn quokkafish.\r\n")).ec);  // uid 4, a file
  EXPECT_EQ(find(text_field::text, "zebracorn"), v{4});
  flags del;
  del.system = flag_deleted;
  ASSERT_TRUE(s_->store_flags("an", mb_, std::vector<std::uint32_t>{4}, flag_op::add, del, std::nullopt));
  ASSERT_TRUE(s_->expunge("an", mb_, std::nullopt));
  std::int64_t old_id = 0;
  {
    s_.reset();
    db::connection c(root_ + "/mail.db", false, true);
    auto q = c.prepare("SELECT id, hash FROM blobs WHERE refcount <= 0");
    ASSERT_TRUE(q.step());
    old_id = q.i64(0);
    const auto hash = q.text(1);
    ASSERT_TRUE(std::filesystem::remove(root_ + "/blobs/" + hash.substr(0, 2) + "/" + hash.substr(2, 2) + "/" + hash));
    open();
  }
  auto gc = s_->collect_garbage(std::chrono::seconds(0));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_EQ(gc->index_entries_left, 1u);
  ASSERT_FALSE(deliver_to("an", simple_message("Khác", "Nothing alike.\r\n")).ec);  // uid 5
  EXPECT_EQ(find(text_field::text, "zebracorn"), v{});
  EXPECT_EQ(find(text_field::text, "nothing alike"), v{5});
  s_.reset();
  db::connection c(root_ + "/mail.db", false, true);
  auto q = c.prepare("SELECT max(id) FROM blobs");
  ASSERT_TRUE(q.step());
  EXPECT_GT(q.i64(0), old_id);
}

// A database whose index has another format (format 1 kept a copy of every
// text) has its index made again from the stored messages.
TEST_F(search_test, an_index_of_an_older_format_is_made_again) {
  s_.reset();
  {
    db::connection c(root_ + "/mail.db", false, true);
    c.exec("DROP TABLE fts");
    c.exec("CREATE VIRTUAL TABLE fts USING fts5(subject, from_, to_, cc, bcc, body, "
           "tokenize = 'unicode61 remove_diacritics 2')");
    c.exec("DELETE FROM settings WHERE key = 'fts_format'");
  }
  open();
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});
  EXPECT_EQ(find(text_field::subject, "lich hop"), v{2});
  EXPECT_EQ(find(text_field::text, "da nang"), v{3});
  s_.reset();
  db::connection c(root_ + "/mail.db", false, true);
  auto q = c.prepare("SELECT (SELECT value FROM settings WHERE key = 'fts_format'), "
                     "(SELECT sql FROM sqlite_master WHERE name = 'fts')");
  ASSERT_TRUE(q.step());
  EXPECT_EQ(q.i64(0), 2);
  EXPECT_NE(q.text(1).find("content = ''"), std::string::npos) << q.text(1);
  EXPECT_EQ(indexed_blobs(c), 3);
}

// fsck --repair cannot rebuild a contentless index from itself: it empties
// it, and every message is indexed again from the stored messages.
TEST_F(search_test, fsck_repairs_a_damaged_index_from_the_stored_messages) {
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});  // indexes the messages
  s_.reset();
  {
    db::connection c(root_ + "/mail.db", false, true);
    c.exec("UPDATE fts_data SET block = x'0000ffff00' WHERE id > 10");
  }
  open();
  auto f = s_->fsck(false);
  ASSERT_TRUE(f);
  ASSERT_FALSE(f->clean());
  EXPECT_NE(f->problems.at(0).find("fts index"), std::string::npos) << f->problems.at(0);
  f = s_->fsck(true);
  ASSERT_TRUE(f);
  EXPECT_FALSE(f->repaired.empty());
  EXPECT_EQ(find(text_field::text, "hanh chinh"), v{1});
  EXPECT_EQ(find(text_field::text, "da nang"), v{3});
  f = s_->fsck(false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << f->problems.at(0);
}

TEST_F(search_test, fetch_meta_serves_parsed_fields) {
  auto meta = s_->fetch_meta("an", mb_, std::vector<std::uint32_t>{1, 2, 77});
  ASSERT_TRUE(meta);
  ASSERT_EQ(meta->size(), 2u);
  EXPECT_EQ((*meta)[0].subject, "Re: [Công văn] Hành chính công đợt 2");
  EXPECT_EQ((*meta)[0].base_subject, "Hành chính công đợt 2");
  EXPECT_EQ((*meta)[0].header_size, 540u);
  EXPECT_TRUE((*meta)[0].bodystructure.starts_with("(((\"text\" \"plain\""));
  EXPECT_EQ((*meta)[0].entry.size, 1306u);
  EXPECT_EQ((*meta)[1].subject, "Lịch họp");
  EXPECT_EQ((*meta)[1].sent_date, 1748827800);
}

}  // namespace
}  // namespace homthu::storage::testing
