// Small messages inside the database (store_options::inline_max): stored in
// blob_content with their rows, no file; larger ones still become files,
// also when a spool crosses the limit mid-write; byte-exact reads, dedup,
// encryption at rest, garbage collection and fsck work for both forms.

#include "test_util.hpp"

#include <sqlite3.h>

namespace homthu::storage::testing {
namespace {

constexpr std::size_t limit = 4096;

class inline_test : public store_test {
 protected:
  void SetUp() override {
    root_ = make_temp_dir("inline");
    open_inline();
  }
  void open_inline(const std::string& key_file = {}) {
    store_options o;
    o.inline_max = limit;
    o.encryption_key_file = key_file;
    open_with(o);
  }
  // SELECT count(*) over mail.db, read while the store is open (WAL).
  std::int64_t count(const char* sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2((root_ + "/mail.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql, -1, &st, nullptr), SQLITE_OK) << sql;
    std::int64_t n = -1;
    if (st && sqlite3_step(st) == SQLITE_ROW) {
      n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return n;
  }
  std::int64_t content_rows() { return count("SELECT count(*) FROM blob_content"); }
  std::uint32_t first_uid_blob(const std::string& account, std::int64_t mailbox, std::string& blob) {
    auto msgs = s_->messages(account, mailbox);
    EXPECT_TRUE(msgs && !msgs->empty());
    auto meta = s_->fetch_meta(account, mailbox, std::vector<std::uint32_t>{(*msgs)[0].uid});
    EXPECT_TRUE(meta && meta->size() == 1);
    blob = meta && !meta->empty() ? (*meta)[0].blob : std::string();
    return (*msgs)[0].uid;
  }
};

std::string sized_message(const std::string& subject, std::size_t size) {
  std::string m = simple_message(subject, "");
  std::string line = "Lorem ipsum hành chính Thái Nguyên 0123456789\r\n";
  while (m.size() + line.size() <= size) {
    m += line;
  }
  m.append(size - m.size(), 'x');
  return m;
}

TEST_F(inline_test, small_message_is_committed_inside_the_database_without_a_file) {
  std::string msg = sized_message("nhỏ", limit);
  auto out = deliver_to("an", msg);
  ASSERT_FALSE(out.ec) << out.ec.message();
  EXPECT_EQ(blob_files(), 0u);
  EXPECT_EQ(content_rows(), 1);
  std::string blob;
  first_uid_blob("an", out.mailbox_id, blob);
  EXPECT_EQ(read_blob(*s_, blob), msg);
  // Nothing is left in tmp/ either: the spool never made a file.
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/tmp"));
  // After a restart the content comes from the database, parsed metadata too.
  open_inline();
  EXPECT_EQ(read_blob(*s_, blob), msg);
  auto meta = s_->fetch_meta("an", out.mailbox_id, std::vector<std::uint32_t>{out.uid});
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)[0].subject, "nhỏ");
  auto hits = s_->search_text("an", out.mailbox_id, text_field::body, "hanh chinh");
  ASSERT_TRUE(hits);
  EXPECT_EQ(hits->size(), 1u);
  auto f = s_->fsck(false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << f->problems.at(0);
}

TEST_F(inline_test, larger_message_becomes_a_file_also_when_crossing_the_limit_mid_write) {
  std::string msg = sized_message("lớn", limit + 1);
  // Pieces of 1000: the first four stay in memory, the fifth crosses.
  auto [sp, id] = spool_kept(*s_, msg, 1000);
  delivery_target t;
  t.account = "an";
  auto out = s_->deliver(id, std::span<const delivery_target>(&t, 1), 0);
  sp.reset();
  ASSERT_FALSE(out[0].ec);
  EXPECT_EQ(blob_files(), 1u);
  EXPECT_EQ(content_rows(), 0);
  EXPECT_EQ(read_blob(*s_, id), msg);
  // Whole in one write too.
  std::string big = sized_message("lớn hơn", 3 * limit);
  ASSERT_FALSE(deliver_to("an", big).ec);
  EXPECT_EQ(blob_files(), 2u);
  EXPECT_EQ(content_rows(), 0);
}

TEST_F(inline_test, same_content_is_stored_once_and_freed_with_its_last_message) {
  std::string msg = sized_message("chung", 2000);
  auto a = deliver_to("an", msg);
  auto b = deliver_to("binh", msg);
  ASSERT_FALSE(a.ec);
  ASSERT_FALSE(b.ec);
  EXPECT_EQ(content_rows(), 1);
  // A spool finished but never delivered leaves nothing behind.
  spool_text(*s_, sized_message("bỏ", 1000));
  EXPECT_EQ(content_rows(), 1);
  EXPECT_EQ(blob_files(), 0u);
  std::string blob;
  auto uid = first_uid_blob("an", a.mailbox_id, blob);
  ASSERT_TRUE(s_->store_flags("an", a.mailbox_id, std::vector<std::uint32_t>{uid}, flag_op::add,
                              flags{flag_deleted, {}}, std::nullopt));
  ASSERT_TRUE(s_->expunge("an", a.mailbox_id, std::nullopt));
  auto gc = s_->collect_garbage(std::chrono::seconds(0));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 0u);  // still in binh's INBOX
  EXPECT_EQ(content_rows(), 1);
  ASSERT_TRUE(s_->delete_account("binh"));
  gc = s_->collect_garbage(std::chrono::seconds(0));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_EQ(gc->bytes_freed, msg.size());
  EXPECT_EQ(content_rows(), 0);
  EXPECT_EQ(read_blob(*s_, blob).rfind("<error", 0), 0u);
}

TEST_F(inline_test, content_read_before_the_delivery_commits_comes_from_the_spool) {
  std::string msg = sized_message("đang giao", 1500);
  auto sp = s_->begin_spool();
  ASSERT_TRUE(sp);
  ASSERT_TRUE((*sp)->write(msg));
  auto id = (*sp)->finish();
  ASSERT_TRUE(id);
  EXPECT_EQ(read_blob(*s_, *id), msg);
  sp->reset();
  EXPECT_EQ(read_blob(*s_, *id).rfind("<error", 0), 0u) << "a dropped spool's content must not stay readable";
}

TEST_F(inline_test, encrypted_inline_content_hides_the_plaintext_and_reads_back) {
  std::string key_file = root_ + "/key";
  {
    std::ofstream k(key_file);
    k << "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
  }
  open_inline(key_file);
  // The marker sits in a base64 attachment: never indexed for search, so it
  // can only reach the database through the stored content.
  std::string marker = "TUFUS0hBVU1BVEtIQVVNQVRLSEFVMTIzNDU2Nzg5";
  std::string msg = "From: a@thainguyen.gov.vn\r\nSubject: bí mật\r\nMIME-Version: 1.0\r\n"
                    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nxem tệp\r\n"
                    "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
                    marker + "\r\n--b--\r\n";
  auto out = deliver_to("an", msg);
  ASSERT_FALSE(out.ec);
  EXPECT_EQ(blob_files(), 0u);
  EXPECT_EQ(count("SELECT count(*) FROM blob_content WHERE encrypted = 1"), 1);
  for (const char* f : {"/mail.db", "/mail.db-wal"}) {
    std::string raw = read_file(root_ + f);
    EXPECT_EQ(raw.find(marker), std::string::npos) << f;
  }
  std::string blob;
  first_uid_blob("an", out.mailbox_id, blob);
  EXPECT_EQ(read_blob(*s_, blob), msg);
  // Without the key, inline content reads as corrupt, never as ciphertext.
  open_inline();
  EXPECT_EQ(read_blob(*s_, blob), "<error " + make_error_code(error::corrupt).message() + ">");
  // Same plaintext, same address as a plain store gives it.
  std::string saved = root_;
  root_ = make_temp_dir("inline-plain");
  open_inline();
  EXPECT_EQ(spool_text(*s_, msg), blob);
  s_.reset();
  std::filesystem::remove_all(saved);
}

TEST_F(inline_test, fsck_reports_lost_content_and_drops_content_without_a_row) {
  auto out = deliver_to("an", sized_message("mất", 1000));
  ASSERT_FALSE(out.ec);
  s_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ + "/mail.db").c_str(), &db), SQLITE_OK);
    for (const char* sql : {"DELETE FROM blob_content",
                            "INSERT INTO blob_content(blob_id, encrypted, data) VALUES(9999, 0, x'41')"}) {
      ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sql;
    }
    sqlite3_close(db);
  }
  open_inline();
  auto f = s_->fsck(true);
  ASSERT_TRUE(f);
  ASSERT_EQ(f->problems.size(), 2u);
  EXPECT_NE(f->problems[0].find("stored content without blob row"), std::string::npos) << f->problems[0];
  EXPECT_NE(f->problems[1].find("blob missing"), std::string::npos) << f->problems[1];
  EXPECT_EQ(content_rows(), 0);
  // The same message delivered again brings the lost content back.
  ASSERT_FALSE(deliver_to("binh", sized_message("mất", 1000)).ec);
  f = s_->fsck(false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean()) << f->problems.at(0);
}

}  // namespace
}  // namespace homthu::storage::testing
