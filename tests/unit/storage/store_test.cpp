// The store interface as IMAP and SMTP use it: spool, deliver, append,
// mailbox tree, flags with MODSEQ, expunge, copy/move, quotas, change feed.

#include "test_util.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sqlite3.h>
#include <set>
#include <thread>

namespace homthu::storage::testing {
namespace {

using namespace std::chrono_literals;

TEST_F(store_test, spool_is_content_addressed_and_deduplicated) {
  std::string msg = simple_message("dedup");
  auto a = spool_text(*s_, msg, 3);
  auto b = spool_text(*s_, msg, 1000);
  ASSERT_EQ(a.size(), 64u);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(std::filesystem::exists(root_ + "/blobs/" + a.substr(0, 2) + "/" + a.substr(2, 2) + "/" + a));
  EXPECT_EQ(blob_files(), 1u);
  EXPECT_EQ(read_blob(*s_, a), msg);
  // No temporary file is left behind by finished spools.
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/tmp"));
}

TEST_F(store_test, abandoned_spool_leaves_nothing) {
  {
    auto sp = s_->begin_spool();
    ASSERT_TRUE(sp);
    ASSERT_TRUE((*sp)->write("partial message"));
  }
  EXPECT_TRUE(std::filesystem::is_empty(root_ + "/tmp"));
  EXPECT_EQ(blob_files(), 0u);
}

TEST_F(store_test, blob_reader_seeks) {
  std::string msg = simple_message("seek", std::string(5000, 'x') + "END\r\n");
  auto id = spool_text(*s_, msg);
  auto r = s_->open_blob(id);
  ASSERT_TRUE(r);
  EXPECT_EQ((*r)->size(), msg.size());
  ASSERT_TRUE((*r)->seek(msg.size() - 5));
  char buf[16];
  auto n = (*r)->read(std::span<char>(buf, sizeof(buf)));
  ASSERT_TRUE(n);
  EXPECT_EQ(std::string(buf, *n), "END\r\n");
  EXPECT_FALSE(s_->open_blob("../../etc/passwd"));
  EXPECT_EQ(s_->open_blob(std::string(64, 'a')).error(), make_error_code(error::not_found));
}

TEST_F(store_test, deliver_to_many_accounts_stores_one_blob) {
  std::string msg = simple_message("to everyone");
  auto id = spool_text(*s_, msg);
  std::vector<delivery_target> targets;
  for (int i = 0; i < 5; ++i) {
    delivery_target t;
    t.account = "user" + std::to_string(i);
    targets.push_back(t);
  }
  auto out = s_->deliver(id, targets, 1750000000);
  ASSERT_EQ(out.size(), 5u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(out[i].ec) << out[i].ec.message();
    EXPECT_EQ(out[i].uid, 1u);
    auto msgs = s_->messages("user" + std::to_string(i), out[i].mailbox_id);
    ASSERT_TRUE(msgs);
    ASSERT_EQ(msgs->size(), 1u);
    EXPECT_EQ((*msgs)[0].size, msg.size());
    EXPECT_EQ((*msgs)[0].internal_date, 1750000000);
    auto meta = s_->fetch_meta("user" + std::to_string(i), out[i].mailbox_id, std::vector<std::uint32_t>{1});
    ASSERT_TRUE(meta);
    ASSERT_EQ(meta->size(), 1u);
    EXPECT_EQ((*meta)[0].blob, id);
  }
  EXPECT_EQ(blob_files(), 1u);
  auto fsck = s_->fsck(false);
  ASSERT_TRUE(fsck);
  EXPECT_TRUE(fsck->clean()) << (fsck->problems.empty() ? "" : fsck->problems[0]);
}

// SMTP hands deliver() a parse it made of the content before the trace
// fields went in front (parse_ahead). deliver() takes it for a blob of the
// size it describes, adding the trace to the header size, and parses the
// blob itself otherwise. The parse given here is of a different text of the
// same size, so that the test sees which parse was used.
TEST_F(store_test, deliver_takes_a_parse_made_ahead_only_for_its_size) {
  const std::string trace = "Return-Path: <a@example.org>\r\nReceived: from x ([192.0.2.1])\r\n\tby y; date\r\n";
  const auto content = simple_message("stored subject");
  const auto other = simple_message("parsed subject");
  ASSERT_EQ(content.size(), other.size());
  const auto header = content.find("\r\n\r\n") + 4;
  auto kept = spool_kept(*s_, trace + content);
  delivery_target t;
  t.account = "an";
  parsed_ahead ahead{parse_ahead(other), trace.size()};
  auto out = s_->deliver(kept.id, std::span<const delivery_target>(&t, 1), 0, &ahead);
  ASSERT_FALSE(out[0].ec) << out[0].ec.message();
  auto meta = s_->fetch_meta("an", out[0].mailbox_id, std::vector<std::uint32_t>{out[0].uid});
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)[0].subject, "parsed subject");
  EXPECT_EQ((*meta)[0].header_size, trace.size() + header);
  EXPECT_EQ((*meta)[0].entry.size, trace.size() + content.size());

  // A blob two octets longer than the parse and prefix describe: not this
  // blob's parse, so the store parses the blob.
  auto kept2 = spool_kept(*s_, trace + content + "\r\n");
  parsed_ahead wrong{parse_ahead(other), trace.size()};
  out = s_->deliver(kept2.id, std::span<const delivery_target>(&t, 1), 0, &wrong);
  ASSERT_FALSE(out[0].ec) << out[0].ec.message();
  meta = s_->fetch_meta("an", out[0].mailbox_id, std::vector<std::uint32_t>{out[0].uid});
  ASSERT_TRUE(meta);
  EXPECT_EQ((*meta)[0].subject, "stored subject");
  EXPECT_EQ((*meta)[0].header_size, trace.size() + header);
}

TEST_F(store_test, deliver_unknown_blob_fails_per_target) {
  delivery_target t;
  t.account = "a";
  auto out = s_->deliver(std::string(64, 'f'), std::span<const delivery_target>(&t, 1), 0);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ec, make_error_code(error::not_found));
}

TEST_F(store_test, first_use_creates_inbox_and_special_use_mailboxes) {
  auto list = s_->list_mailboxes("an");
  ASSERT_TRUE(list);
  std::map<std::string, special_use> got;
  for (const auto& m : *list) {
    got[m.name] = m.use;
    EXPECT_TRUE(m.subscribed) << m.name;
    EXPECT_GT(m.uidvalidity, 0u);
    EXPECT_EQ(m.uidnext, 1u);
  }
  std::map<std::string, special_use> want = {{"INBOX", special_use::none},   {"Sent", special_use::sent},
                                             {"Drafts", special_use::drafts}, {"Trash", special_use::trash},
                                             {"Junk", special_use::junk},     {"Archive", special_use::archive}};
  EXPECT_EQ(got, want);
  // A second call does not duplicate them.
  EXPECT_EQ(s_->list_mailboxes("an")->size(), 6u);
}

TEST_F(store_test, mailbox_names_are_validated) {
  for (const std::string& bad : std::vector<std::string>{"../x", "a/../../b", "./x", "a//b", "/x", "x/", "~u", "cur", "a/new", "tmp", "",
                          std::string("a\0b", 3), "a\r\nb", "a\x7f", "a*", "b%", std::string("\xff\xfe"),
                          std::string("\xc0\xaf"), std::string(1200, 'a')}) {
    auto r = s_->create_mailbox("an", bad);
    EXPECT_EQ(r.error(), make_error_code(error::invalid_name)) << "name: " << bad;
  }
  EXPECT_TRUE(s_->create_mailbox("an", "Công văn/Đến"));
  EXPECT_TRUE(s_->status("an", "Công văn"));  // superior created (RFC 9051 §6.3.4)
  EXPECT_EQ(s_->create_mailbox("an", "Công văn/Đến").error(), make_error_code(error::exists));
  // INBOX is case-insensitive.
  auto a = s_->status("an", "inbox");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "INBOX");
  EXPECT_EQ(s_->create_mailbox("an", "Inbox").error(), make_error_code(error::exists));
}

TEST_F(store_test, rename_moves_children_and_subscriptions) {
  ASSERT_TRUE(s_->create_mailbox("an", "Projects/2025/Q1"));
  ASSERT_TRUE(s_->subscribe("an", "Projects/2025", true));
  auto before = s_->status("an", "Projects/2025");
  ASSERT_TRUE(before);
  ASSERT_TRUE(s_->rename_mailbox("an", "Projects", "Old/Projects"));
  EXPECT_FALSE(s_->status("an", "Projects"));
  auto moved = s_->status("an", "Old/Projects/2025");
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved->id, before->id);
  EXPECT_EQ(moved->uidvalidity, before->uidvalidity);
  EXPECT_TRUE(moved->subscribed);
  EXPECT_TRUE(moved->has_children);
  EXPECT_TRUE(s_->status("an", "Old/Projects/2025/Q1"));
  EXPECT_TRUE(s_->status("an", "Old"));
  EXPECT_EQ(s_->rename_mailbox("an", "Old", "Old/Inside").error(), make_error_code(error::not_allowed));
  EXPECT_EQ(s_->rename_mailbox("an", "Missing", "X").error(), make_error_code(error::not_found));
  EXPECT_EQ(s_->rename_mailbox("an", "Old", "Sent").error(), make_error_code(error::exists));
}

TEST_F(store_test, rename_inbox_moves_messages_and_keeps_inbox) {
  ASSERT_FALSE(deliver_to("an", simple_message("one")).ec);
  ASSERT_FALSE(deliver_to("an", simple_message("two")).ec);
  ASSERT_TRUE(s_->create_mailbox("an", "INBOX/child"));
  auto inbox_before = s_->status("an", "INBOX");
  ASSERT_TRUE(s_->rename_mailbox("an", "INBOX", "Old mail"));
  auto inbox = s_->status("an", "INBOX");
  ASSERT_TRUE(inbox);
  EXPECT_EQ(inbox->messages, 0u);
  EXPECT_EQ(inbox->id, inbox_before->id);
  EXPECT_EQ(inbox->uidnext, 3u);  // UIDs are never reused
  EXPECT_TRUE(s_->status("an", "INBOX/child"));
  auto old = s_->status("an", "Old mail");
  ASSERT_TRUE(old);
  EXPECT_EQ(old->messages, 2u);
  auto ch = s_->changes_since("an", inbox->id, inbox_before->highest_modseq);
  ASSERT_TRUE(ch);
  EXPECT_EQ(ch->expunged, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(s_->usage("an")->messages, 2u);
}

TEST_F(store_test, delete_mailbox_keeps_children_unless_asked) {
  ASSERT_TRUE(s_->create_mailbox("an", "A/B"));
  ASSERT_FALSE(deliver_to("an", simple_message("in A"), "A").ec);
  ASSERT_TRUE(s_->delete_mailbox("an", "A"));
  EXPECT_FALSE(s_->status("an", "A"));
  EXPECT_TRUE(s_->status("an", "A/B"));
  EXPECT_EQ(s_->usage("an")->messages, 0u);
  ASSERT_TRUE(s_->create_mailbox("an", "C/D"));
  ASSERT_TRUE(s_->delete_mailbox("an", "C", true));
  EXPECT_FALSE(s_->status("an", "C/D"));
  EXPECT_EQ(s_->delete_mailbox("an", "INBOX").error(), make_error_code(error::not_allowed));
  EXPECT_EQ(s_->delete_mailbox("an", "nope").error(), make_error_code(error::not_found));
}

TEST_F(store_test, recreated_mailbox_gets_new_uidvalidity) {
  auto a = s_->create_mailbox("an", "X");
  ASSERT_TRUE(a);
  ASSERT_TRUE(s_->delete_mailbox("an", "X"));
  auto b = s_->create_mailbox("an", "X");
  ASSERT_TRUE(b);
  EXPECT_NE(a->uidvalidity, b->uidvalidity);
  EXPECT_NE(a->id, b->id);
}

TEST_F(store_test, subscriptions) {
  ASSERT_TRUE(s_->create_mailbox("an", "Lists"));
  ASSERT_TRUE(s_->subscribe("an", "Lists", true));
  ASSERT_TRUE(s_->subscribe("an", "Junk", false));
  auto subs = s_->subscriptions("an");
  ASSERT_TRUE(subs);
  std::set<std::string> got(subs->begin(), subs->end());
  EXPECT_TRUE(got.count("Lists"));
  EXPECT_FALSE(got.count("Junk"));
  EXPECT_TRUE(got.count("INBOX"));
  EXPECT_EQ(s_->subscribe("an", "../x", true).error(), make_error_code(error::invalid_name));
}

TEST_F(store_test, append_requires_existing_mailbox) {
  auto id = spool_text(*s_, simple_message("draft"));
  flags f;
  f.system = flag_draft | flag_seen;
  f.keywords = {"$Draft1", "bad keyword", "Work"};
  auto r = s_->append("an", "Nowhere", id, f, 1700000000, 0, 0);
  EXPECT_EQ(r.error(), make_error_code(error::not_found));
  r = s_->append("an", "Drafts", id, f, 1700000000, 0, 0);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(r->uid, 1u);
  auto msgs = s_->messages("an", r->mailbox_id);
  ASSERT_TRUE(msgs);
  ASSERT_EQ(msgs->size(), 1u);
  EXPECT_EQ((*msgs)[0].flags_.system, flag_draft | flag_seen);
  EXPECT_EQ((*msgs)[0].flags_.keywords, (std::vector<std::string>{"$Draft1", "Work"}));
  EXPECT_EQ((*msgs)[0].internal_date, 1700000000);
  auto st = s_->status("an", "Drafts");
  EXPECT_EQ(st->unseen, 0u);
  EXPECT_EQ(st->messages, 1u);
}

TEST_F(store_test, store_flags_modseq_and_unchangedsince) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(deliver_to("an", simple_message("m" + std::to_string(i))).ec);
  }
  auto mb = mailbox_id("an", "INBOX");
  auto st0 = s_->status("an", "INBOX");
  EXPECT_EQ(st0->unseen, 3u);
  flags seen;
  seen.system = flag_seen;
  auto r = s_->store_flags("an", mb, std::vector<std::uint32_t>{1, 2}, flag_op::add, seen, std::nullopt);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->changed.size(), 2u);
  std::uint64_t m1 = r->changed[0].modseq;
  EXPECT_GT(m1, st0->highest_modseq);
  auto st1 = s_->status("an", "INBOX");
  EXPECT_EQ(st1->unseen, 1u);
  EXPECT_EQ(st1->highest_modseq, m1);
  // Setting the same flags again changes nothing and bumps no MODSEQ.
  r = s_->store_flags("an", mb, std::vector<std::uint32_t>{1}, flag_op::add, seen, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->changed.empty());
  // UNCHANGEDSINCE below message 1's modseq fails for 1 and 2, succeeds for 3.
  flags kw;
  kw.keywords = {"Urgent"};
  r = s_->store_flags("an", mb, std::vector<std::uint32_t>{1, 2, 3}, flag_op::add, kw, m1 - 1);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->failed, (std::vector<std::uint32_t>{1, 2}));
  ASSERT_EQ(r->changed.size(), 1u);
  EXPECT_EQ(r->changed[0].uid, 3u);
  // Keywords are case-insensitive.
  flags kw2;
  kw2.keywords = {"urgent"};
  r = s_->store_flags("an", mb, std::vector<std::uint32_t>{3}, flag_op::remove, kw2, std::nullopt);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->changed.size(), 1u);
  EXPECT_TRUE(r->changed[0].flags_.keywords.empty());
  // Replace.
  flags rep;
  rep.system = flag_flagged;
  r = s_->store_flags("an", mb, std::vector<std::uint32_t>{1}, flag_op::replace, rep, std::nullopt);
  ASSERT_EQ(r->changed.at(0).flags_.system, flag_flagged);
  EXPECT_EQ(s_->status("an", "INBOX")->unseen, 2u);
  auto ch = s_->changes_since("an", mb, m1);
  ASSERT_TRUE(ch);
  std::vector<std::uint32_t> uids;
  for (auto& e : ch->changed) {
    uids.push_back(e.uid);
  }
  EXPECT_EQ(uids, (std::vector<std::uint32_t>{1, 3}));
}

TEST_F(store_test, expunge_and_uid_expunge_record_vanished) {
  for (int i = 0; i < 4; ++i) {
    ASSERT_FALSE(deliver_to("an", simple_message("e" + std::to_string(i))).ec);
  }
  auto mb = mailbox_id("an", "INBOX");
  flags del;
  del.system = flag_deleted;
  ASSERT_TRUE(s_->store_flags("an", mb, std::vector<std::uint32_t>{1, 2, 4}, flag_op::add, del, std::nullopt));
  auto before = s_->status("an", "INBOX")->highest_modseq;
  std::vector<std::uint32_t> only{2, 3};
  auto r = s_->expunge("an", mb, std::span<const std::uint32_t>(only));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::uint32_t>{2}));
  r = s_->expunge("an", mb, std::nullopt);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, (std::vector<std::uint32_t>{1, 4}));
  auto left = s_->messages("an", mb);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ((*left)[0].uid, 3u);
  auto ch = s_->changes_since("an", mb, before);
  EXPECT_EQ(ch->expunged, (std::vector<std::uint32_t>{1, 2, 4}));
  EXPECT_GT(ch->highest_modseq, before);
  EXPECT_EQ(s_->usage("an")->messages, 1u);
  auto st = s_->status("an", "INBOX");
  EXPECT_EQ(st->messages, 1u);
  EXPECT_EQ(st->uidnext, 5u);
}

TEST_F(store_test, copy_and_move) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_FALSE(deliver_to("an", simple_message("c" + std::to_string(i))).ec);
  }
  auto mb = mailbox_id("an", "INBOX");
  ASSERT_TRUE(s_->create_mailbox("an", "Keep"));
  auto r = s_->copy("an", mb, std::vector<std::uint32_t>{3, 1, 99}, "Keep", false, 0, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source_uids, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(r->dest_uids, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_EQ(r->uidvalidity, s_->status("an", "Keep")->uidvalidity);
  EXPECT_EQ(s_->usage("an")->messages, 5u);
  EXPECT_EQ(s_->copy("an", mb, std::vector<std::uint32_t>{1}, "Missing", false, 0, 0).error(),
            make_error_code(error::not_found));
  auto before = s_->status("an", "INBOX")->highest_modseq;
  r = s_->copy("an", mb, std::vector<std::uint32_t>{2}, "Trash", true, 0, 0);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->dest_uids, (std::vector<std::uint32_t>{1}));
  EXPECT_EQ(s_->status("an", "INBOX")->messages, 2u);
  EXPECT_EQ(s_->status("an", "Trash")->messages, 1u);
  EXPECT_EQ(s_->changes_since("an", mb, before)->expunged, (std::vector<std::uint32_t>{2}));
  EXPECT_EQ(s_->usage("an")->messages, 5u);
  auto f = s_->fsck(false);
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->clean());
}

// RFC 3502 §6.3.11: a MULTIAPPEND set is appended whole, with consecutive
// UIDs, or not at all — here the third message passes the message quota.
TEST_F(store_test, append_many_is_all_or_nothing) {
  std::vector<store::append_item> items;
  for (int i = 0; i < 3; ++i) {
    items.push_back({spool_text(*s_, simple_message("multi " + std::to_string(i))), {}, 1700000000 + i});
  }
  ASSERT_FALSE(deliver_to("an", simple_message("before")).ec);  // INBOX uid 1
  auto refused = s_->append_many("an", "INBOX", items, 0, 3);
  EXPECT_EQ(refused.error(), make_error_code(error::over_quota));
  const auto mb = mailbox_id("an", "INBOX");
  auto msgs = s_->messages("an", mb);
  ASSERT_TRUE(msgs);
  EXPECT_EQ(msgs->size(), 1u) << "nothing of a refused set stays";
  EXPECT_EQ(s_->usage("an")->messages, 1u);

  auto ok = s_->append_many("an", "INBOX", items, 0, 4);
  ASSERT_TRUE(ok) << ok.error().message();
  ASSERT_EQ(ok->size(), 3u);
  EXPECT_EQ((*ok)[0].uid + 1, (*ok)[1].uid);
  EXPECT_EQ((*ok)[1].uid + 1, (*ok)[2].uid);
  msgs = s_->messages("an", mb);
  ASSERT_EQ(msgs->size(), 4u);
  EXPECT_EQ(msgs->back().internal_date, 1700000002);
  EXPECT_EQ(s_->append_many("an", "Nowhere", items, 0, 0).error(), make_error_code(error::not_found));
}

TEST_F(store_test, quotas_are_enforced) {
  std::string msg = simple_message("q");
  auto first = deliver_to("an", msg, "INBOX", 0, 2);
  ASSERT_FALSE(first.ec);
  ASSERT_FALSE(deliver_to("an", simple_message("q2"), "INBOX", 0, 2).ec);
  EXPECT_EQ(deliver_to("an", simple_message("q3"), "INBOX", 0, 2).ec, make_error_code(error::over_quota));
  auto u = s_->usage("an");
  EXPECT_EQ(u->messages, 2u);
  EXPECT_GE(u->bytes, 2 * msg.size());
  EXPECT_EQ(deliver_to("an", simple_message("q4"), "INBOX", u->bytes + 10, 0).ec, make_error_code(error::over_quota));
  auto id = spool_text(*s_, simple_message("q5"));
  EXPECT_EQ(s_->append("an", "INBOX", id, {}, 0, 0, 2).error(), make_error_code(error::over_quota));
  auto mb = mailbox_id("an", "INBOX");
  EXPECT_EQ(s_->copy("an", mb, std::vector<std::uint32_t>{1}, "Archive", false, 0, 2).error(),
            make_error_code(error::over_quota));
  // A move does not add usage, so it is allowed at the limit.
  EXPECT_TRUE(s_->copy("an", mb, std::vector<std::uint32_t>{1}, "Archive", true, 0, 2));
  // Other targets of the same delivery are unaffected by one over quota.
  auto blob = spool_text(*s_, simple_message("mixed"));
  std::vector<delivery_target> ts(2);
  ts[0].account = "an";
  ts[0].quota_messages = 2;
  ts[1].account = "binh";
  auto out = s_->deliver(blob, ts, 0);
  EXPECT_EQ(out[0].ec, make_error_code(error::over_quota));
  EXPECT_FALSE(out[1].ec);
  EXPECT_EQ(s_->usage("binh")->messages, 1u);
}

TEST_F(store_test, mailbox_ids_are_bound_to_their_account) {
  ASSERT_FALSE(deliver_to("an", simple_message("private")).ec);
  auto mb = mailbox_id("an", "INBOX");
  ASSERT_TRUE(s_->list_mailboxes("eve"));
  EXPECT_EQ(s_->messages("eve", mb).error(), make_error_code(error::not_found));
  EXPECT_EQ(s_->fetch_meta("eve", mb, std::vector<std::uint32_t>{1}).error(), make_error_code(error::not_found));
  flags f;
  f.system = flag_deleted;
  EXPECT_FALSE(s_->store_flags("eve", mb, std::vector<std::uint32_t>{1}, flag_op::add, f, std::nullopt));
  EXPECT_FALSE(s_->expunge("eve", mb, std::nullopt));
  EXPECT_FALSE(s_->copy("eve", mb, std::vector<std::uint32_t>{1}, "INBOX", true, 0, 0));
  EXPECT_FALSE(s_->search_text("eve", mb, text_field::text, "private"));
  EXPECT_EQ(s_->messages("an", mb)->size(), 1u);
}

TEST_F(store_test, change_feed_reports_within_100ms) {
  std::mutex m;
  std::condition_variable cv;
  std::vector<change_event> got;
  auto sub = s_->watch("an", [&](const change_event& e) {
    std::lock_guard lk(m);
    got.push_back(e);
    cv.notify_all();
  });
  auto other = s_->watch("binh", [&](const change_event&) { ADD_FAILURE() << "event for another account"; });
  ASSERT_TRUE(s_->list_mailboxes("an"));
  {
    std::lock_guard lk(m);
    got.clear();
  }
  auto t0 = std::chrono::steady_clock::now();
  auto out = deliver_to("an", simple_message("ping"));
  ASSERT_FALSE(out.ec);
  std::unique_lock lk(m);
  ASSERT_TRUE(cv.wait_for(lk, 100ms, [&] {
    for (auto& e : got) {
      if (e.type == change_event::kind::appended) {
        return true;
      }
    }
    return false;
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto it = std::find_if(got.begin(), got.end(), [](auto& e) { return e.type == change_event::kind::appended; });
  EXPECT_EQ(it->mailbox_id, out.mailbox_id);
  EXPECT_EQ(it->account, "an");
  lk.unlock();
  sub.reset();
  ASSERT_FALSE(deliver_to("an", simple_message("after unsubscribe")).ec);
  std::this_thread::sleep_for(20ms);
  std::lock_guard lk2(m);
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](auto& e) { return e.type == change_event::kind::appended; }), 1);
}

TEST_F(store_test, delete_account_removes_everything) {
  ASSERT_FALSE(deliver_to("an", simple_message("bye")).ec);
  ASSERT_TRUE(s_->create_mailbox("an", "Folder"));
  ASSERT_TRUE(s_->delete_account("an"));
  EXPECT_EQ(s_->usage("an")->messages, 0u);
  auto accts = s_->accounts();
  ASSERT_TRUE(accts);
  EXPECT_TRUE(std::find(accts->begin(), accts->end(), "an") == accts->end());
  auto gc = s_->collect_garbage(std::chrono::seconds(0));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_EQ(blob_files(), 0u);
  EXPECT_EQ(s_->delete_account("an").error(), make_error_code(error::not_found));
  // A later first use starts fresh.
  EXPECT_EQ(s_->list_mailboxes("an")->size(), 6u);
}

TEST_F(store_test, data_survives_reopen) {
  auto out = deliver_to("an", simple_message("persist"));
  ASSERT_FALSE(out.ec);
  open();
  auto msgs = s_->messages("an", out.mailbox_id);
  ASSERT_TRUE(msgs);
  ASSERT_EQ(msgs->size(), 1u);
  auto meta = s_->fetch_meta("an", out.mailbox_id, std::vector<std::uint32_t>{1});
  EXPECT_EQ(read_blob(*s_, (*meta)[0].blob), simple_message("persist"));
}

TEST_F(store_test, garbage_collection_never_removes_referenced_blobs) {
  auto keep = deliver_to("an", simple_message("keep"));
  ASSERT_FALSE(keep.ec);
  auto gone = deliver_to("an", simple_message("gone"));
  ASSERT_FALSE(gone.ec);
  // Held by a live spool but never delivered: pinned.
  auto sp = s_->begin_spool();
  ASSERT_TRUE((*sp)->write(simple_message("pinned")));
  auto pinned = (*sp)->finish();
  ASSERT_TRUE(pinned);
  // Written and abandoned, as if the process died before delivering it.
  std::string orphan;
  {
    auto sp2 = s_->begin_spool();
    ASSERT_TRUE((*sp2)->write(simple_message("orphan")));
    orphan = *(*sp2)->finish();
  }
  flags del;
  del.system = flag_deleted;
  ASSERT_TRUE(s_->store_flags("an", gone.mailbox_id, std::vector<std::uint32_t>{gone.uid}, flag_op::add, del, {}));
  ASSERT_TRUE(s_->expunge("an", gone.mailbox_id, std::nullopt));
  EXPECT_EQ(blob_files(), 4u);
  // With the default grace period only the expunged blob goes.
  auto gc = s_->collect_garbage();
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);
  EXPECT_EQ(blob_files(), 3u);
  gc = s_->collect_garbage(std::chrono::seconds(-5));
  ASSERT_TRUE(gc);
  EXPECT_EQ(gc->blobs_removed, 1u);  // the orphan
  EXPECT_FALSE(s_->open_blob(orphan));
  EXPECT_TRUE(s_->open_blob(*pinned));
  auto meta = s_->fetch_meta("an", keep.mailbox_id, std::vector<std::uint32_t>{keep.uid});
  EXPECT_EQ(read_blob(*s_, (*meta)[0].blob), simple_message("keep"));
  // The pinned blob can still be delivered.
  delivery_target t;
  t.account = "an";
  EXPECT_FALSE(s_->deliver(*pinned, std::span<const delivery_target>(&t, 1), 0)[0].ec);
}

TEST_F(store_test, fsck_finds_and_repairs_counter_damage) {
  ASSERT_FALSE(deliver_to("an", simple_message("x1")).ec);
  ASSERT_FALSE(deliver_to("an", simple_message("x2")).ec);
  s_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ + "/mail.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "UPDATE mailboxes SET messages = 7 WHERE name = 'INBOX'; "
                               "UPDATE blobs SET refcount = 3; UPDATE accounts SET bytes = 1",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  open();
  auto r = s_->fsck(false);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->clean());
  EXPECT_GE(r->problems.size(), 3u);
  r = s_->fsck(true);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->repaired.empty());
  r = s_->fsck(false);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->clean()) << r->problems.at(0);
  EXPECT_EQ(s_->status("an", "INBOX")->messages, 2u);
}

TEST_F(store_test, fsck_reports_missing_blob_file) {
  auto out = deliver_to("an", simple_message("lost"));
  auto meta = s_->fetch_meta("an", out.mailbox_id, std::vector<std::uint32_t>{1});
  auto id = (*meta)[0].blob;
  std::filesystem::remove(root_ + "/blobs/" + id.substr(0, 2) + "/" + id.substr(2, 2) + "/" + id);
  auto r = s_->fsck(true);
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->clean());
  EXPECT_NE(r->problems[0].find(id), std::string::npos);
  // Repair never drops the message: an operator may restore the file.
  EXPECT_EQ(s_->messages("an", out.mailbox_id)->size(), 1u);
}

TEST_F(store_test, concurrent_deliveries_share_commits_and_get_distinct_uids) {
  constexpr int threads = 16;
  constexpr int per_thread = 10;
  std::vector<std::thread> ts;
  std::mutex m;
  std::set<std::uint32_t> uids;
  std::atomic<int> failures{0};
  ASSERT_TRUE(s_->list_mailboxes("an"));
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto out = deliver_to("an", simple_message("t" + std::to_string(t) + "-" + std::to_string(i)));
        if (out.ec) {
          ++failures;
          continue;
        }
        std::lock_guard lk(m);
        uids.insert(out.uid);
      }
    });
  }
  for (auto& t : ts) {
    t.join();
  }
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(uids.size(), static_cast<std::size_t>(threads * per_thread));
  EXPECT_EQ(*uids.rbegin(), static_cast<std::uint32_t>(threads * per_thread));
  EXPECT_EQ(s_->status("an", "INBOX")->messages, static_cast<std::uint32_t>(threads * per_thread));
}

TEST_F(store_test, recent_is_claimed_once) {
  auto out = deliver_to("an", simple_message("r1"));
  ASSERT_FALSE(out.ec);
  ASSERT_FALSE(deliver_to("an", simple_message("r2")).ec);
  auto id = out.mailbox_id;
  EXPECT_EQ(s_->status("an", "INBOX")->recent, 2u);
  // Looking (EXAMINE) takes nothing.
  auto look = s_->claim_recent("an", id, false);
  ASSERT_TRUE(look);
  EXPECT_EQ(look->first, 1u);
  EXPECT_EQ(look->end, 3u);
  // The first claim gets both, the next one nothing.
  auto first = s_->claim_recent("an", id, true);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->first, 1u);
  EXPECT_EQ(first->end, 3u);
  auto second = s_->claim_recent("an", id, true);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->first, second->end);
  EXPECT_EQ(s_->status("an", "INBOX")->recent, 0u);
  // New mail is the next claimer's.
  ASSERT_FALSE(deliver_to("an", simple_message("r3")).ec);
  EXPECT_EQ(s_->status("an", "INBOX")->recent, 1u);
  auto third = s_->claim_recent("an", id, true);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->first, 3u);
  EXPECT_EQ(third->end, 4u);
  // Another account cannot claim by mailbox id.
  EXPECT_FALSE(s_->claim_recent("binh", id, true));
}

TEST_F(store_test, database_without_recent_column_is_migrated) {
  ASSERT_FALSE(deliver_to("an", simple_message("old")).ec);
  s_.reset();
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((root_ + "/mail.db").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, "ALTER TABLE mailboxes DROP COLUMN first_recent_uid", nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  open();
  // Mail from before the upgrade is not recent; new mail is.
  EXPECT_EQ(s_->status("an", "INBOX")->recent, 0u);
  auto out = deliver_to("an", simple_message("new"));
  ASSERT_FALSE(out.ec);
  EXPECT_EQ(s_->status("an", "INBOX")->recent, 1u);
  auto r = s_->claim_recent("an", out.mailbox_id, true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->first, 2u);
  EXPECT_EQ(r->end, 3u);
  open();  // the migration runs once
  EXPECT_EQ(s_->status("an", "INBOX")->recent, 0u);
}

}  // namespace
}  // namespace homthu::storage::testing
