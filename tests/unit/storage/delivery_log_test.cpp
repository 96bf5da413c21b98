// The delivery log: what an administrator searching "where did my mail go"
// gets back — every hop of a message grouped under it, searches by sender,
// recipient, Message-ID and time, paging without repeats or gaps, hidden rows
// for a scoped caller, retention, and the mail-flow counts.
#include "homthu/storage/delivery_log.hpp"
#include "test_util.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

namespace homthu::storage {
namespace {

using testing::make_temp_dir;

delivery_event ev(std::string_view kind, std::string trace, std::string sender, std::string rcpt,
                  std::int64_t t = 0) {
  delivery_event e;
  e.kind = std::string(kind);
  e.trace = std::move(trace);
  e.sender = std::move(sender);
  e.recipient = std::move(rcpt);
  e.time_ms = t;
  return e;
}

class delivery_log_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = make_temp_dir("dlog");
    open();
  }
  void TearDown() override {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Tests use timestamps near 1970; only the retention test keeps the
  // default 30 days, which prunes them.
  void open(std::chrono::hours retention = std::chrono::hours(24 * 365 * 100)) {
    delivery_log_options o;
    o.path = default_delivery_log_path(dir_);
    o.retention = retention;
    o.fsync = false;
    o.commit_interval = std::chrono::milliseconds(5);
    log_ = open_delivery_log(o);
  }
  delivery_page find(delivery_query q) {
    auto r = log_->search(q);
    EXPECT_TRUE(r.has_value());
    return r ? *r : delivery_page{};
  }
  std::string dir_;
  std::unique_ptr<delivery_log> log_;
};

TEST_F(delivery_log_test, hops_of_a_message_come_back_together_in_order) {
  auto r = ev(delivery_kind::received, "s1.1", "An@Example.org", "list@thainguyen.gov.vn");
  r.client = "192.0.2.7";
  r.listener = "smtp";
  r.message_id = "<abc@example.org>";
  auto x = ev(delivery_kind::expanded, "s1.1", "an@example.org", "list@thainguyen.gov.vn");
  auto d = ev(delivery_kind::delivered, "s1.1", "an@example.org", "binh@thainguyen.gov.vn");
  d.via = "list@thainguyen.gov.vn";
  auto q = ev(delivery_kind::queued, "s1.1", "an@example.org", "out@example.net");
  q.queue_id = 42;
  log_->record({r, x, d, q});
  // The queue runner knows only the queue id: the trace comes from "queued".
  auto def = ev(delivery_kind::deferred, "", "an@example.org", "out@example.net");
  def.queue_id = 42;
  def.reply = "451 4.3.0 try later";
  def.remote = "mx.example.net";
  log_->record(def);
  log_->record(ev(delivery_kind::received, "s2.1", "other@example.org", "binh@thainguyen.gov.vn"));
  log_->flush();

  delivery_query dq;
  dq.recipient = "BINH@thainguyen.gov.vn";
  auto page = find(dq);
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[0].trace, "s2.1");  // newest first
  const auto& m = page.messages[1];
  EXPECT_EQ(m.trace, "s1.1");
  ASSERT_EQ(m.events.size(), 5u);
  EXPECT_EQ(m.events[0].kind, "received");
  EXPECT_EQ(m.events[0].sender, "an@example.org");  // stored lower case
  EXPECT_EQ(m.events[0].message_id, "abc@example.org");
  EXPECT_EQ(m.events[0].client, "192.0.2.7");
  EXPECT_EQ(m.events[2].via, "list@thainguyen.gov.vn");
  EXPECT_EQ(m.events[4].kind, "deferred");
  EXPECT_EQ(m.events[4].trace, "s1.1");
  EXPECT_EQ(m.events[4].remote, "mx.example.net");
  EXPECT_EQ(page.next_cursor, 0);

  dq = {};
  dq.message_id = "abc@example.org";
  EXPECT_EQ(find(dq).messages.size(), 1u);
  dq.message_id = "<abc@example.org>";
  EXPECT_EQ(find(dq).messages.size(), 1u);
  dq = {};
  dq.sender = "other@example.org";
  ASSERT_EQ(find(dq).messages.size(), 1u);
  EXPECT_EQ(find(dq).messages[0].trace, "s2.1");
  dq.sender = "nobody@example.org";
  EXPECT_TRUE(find(dq).messages.empty());
}

TEST_F(delivery_log_test, a_queue_id_without_queued_row_gets_its_own_trace) {
  auto e = ev(delivery_kind::relayed, "", "a@example.org", "b@example.net");
  e.queue_id = 7;
  log_->record(e);
  log_->flush();
  auto page = find({});
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].trace, "queue.7");
}

TEST_F(delivery_log_test, time_range_selects_messages) {
  log_->record(ev(delivery_kind::received, "old", "a@x.org", "b@y.org", 1000));
  log_->record(ev(delivery_kind::received, "mid", "a@x.org", "b@y.org", 2000));
  log_->record(ev(delivery_kind::received, "new", "a@x.org", "b@y.org", 3000));
  log_->flush();
  delivery_query q;
  q.since_ms = 1500;
  q.until_ms = 3000;
  auto page = find(q);
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].trace, "mid");
  q.since_ms = 5000;
  q.until_ms = 0;
  EXPECT_TRUE(find(q).messages.empty());
}

TEST_F(delivery_log_test, pages_cover_every_message_once) {
  // Interleaved hops: a message's rows straddle page boundaries.
  std::vector<delivery_event> batch;
  for (int i = 0; i < 30; ++i) {
    batch.push_back(ev(delivery_kind::received, "t" + std::to_string(i), "a@x.org", "b@y.org"));
    if (i >= 2) {
      batch.push_back(ev(delivery_kind::delivered, "t" + std::to_string(i - 2), "a@x.org", "b@y.org"));
    }
  }
  log_->record(batch);
  log_->flush();
  std::set<std::string> seen;
  delivery_query q;
  q.sender = "a@x.org";
  q.limit = 7;
  int pages = 0;
  for (;;) {
    auto page = find(q);
    ++pages;
    EXPECT_LE(page.messages.size(), 7u);
    for (const auto& m : page.messages) {
      EXPECT_TRUE(seen.insert(m.trace).second) << m.trace << " shown twice";
    }
    if (page.next_cursor == 0) {
      break;
    }
    q.cursor = page.next_cursor;
    ASSERT_LT(pages, 20);
  }
  EXPECT_EQ(seen.size(), 30u);
  EXPECT_EQ(pages, 5);
}

TEST_F(delivery_log_test, hidden_rows_neither_match_nor_show) {
  log_->record({ev(delivery_kind::received, "m1", "a@unit-a.vn", "list@p.vn"),
                ev(delivery_kind::delivered, "m1", "a@unit-a.vn", "x@unit-b.vn"),
                ev(delivery_kind::delivered, "m1", "a@unit-a.vn", "y@unit-c.vn"),
                ev(delivery_kind::received, "m2", "z@outside.org", "x@unit-b.vn")});
  log_->flush();
  delivery_query q;
  q.visible = [](const delivery_event& e) {
    return e.sender.ends_with("@unit-b.vn") || e.recipient.ends_with("@unit-b.vn");
  };
  auto page = find(q);
  ASSERT_EQ(page.messages.size(), 2u);
  EXPECT_EQ(page.messages[0].trace, "m2");
  ASSERT_EQ(page.messages[1].events.size(), 1u);
  EXPECT_EQ(page.messages[1].events[0].recipient, "x@unit-b.vn");
  q.recipient = "y@unit-c.vn";  // exists, but not for this caller
  EXPECT_TRUE(find(q).messages.empty());
}

TEST_F(delivery_log_test, flow_counts_per_bucket) {
  const std::int64_t h = 3600 * 1000;
  const std::int64_t origin = 100 * h;
  log_->record({ev(delivery_kind::received, "a", "s@x", "r1@y", origin + 10),
                ev(delivery_kind::received, "a", "s@x", "r2@y", origin + 11),  // same message, 2 recipients
                ev(delivery_kind::delivered, "a", "s@x", "r1@y", origin + 12),
                ev(delivery_kind::queued, "a", "s@x", "r2@z", origin + 13),
                ev(delivery_kind::deferred, "a", "s@x", "r2@z", origin + h + 5),
                ev(delivery_kind::bounced, "a", "s@x", "r2@z", origin + 2 * h + 5),
                ev(delivery_kind::received, "b", "s@x", "r3@y", origin + 2 * h + 6),
                ev(delivery_kind::relayed, "b", "s@x", "r3@y", origin + 2 * h + 7),
                ev(delivery_kind::received, "c", "s@x", "r3@y", origin - 1),       // before the range
                ev(delivery_kind::received, "d", "s@x", "r3@y", origin + 3 * h)});  // after it
  log_->flush();
  auto f = log_->flow(origin, h, 3);
  ASSERT_TRUE(f.has_value());
  ASSERT_EQ(f->size(), 3u);
  EXPECT_EQ((*f)[0].start_ms, origin);
  EXPECT_EQ((*f)[0].received, 1u);
  EXPECT_EQ((*f)[0].delivered, 1u);
  EXPECT_EQ((*f)[1].deferred, 1u);
  EXPECT_EQ((*f)[2].bounced, 1u);
  EXPECT_EQ((*f)[2].received, 1u);
  EXPECT_EQ((*f)[2].relayed, 1u);
  // The scoped path counts the same way.
  auto g = log_->flow(origin, h, 3, [](const delivery_event&) { return true; });
  ASSERT_TRUE(g.has_value());
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ((*g)[i].received, (*f)[i].received);
    EXPECT_EQ((*g)[i].delivered, (*f)[i].delivered);
    EXPECT_EQ((*g)[i].deferred, (*f)[i].deferred);
    EXPECT_EQ((*g)[i].bounced, (*f)[i].bounced);
    EXPECT_EQ((*g)[i].relayed, (*f)[i].relayed);
  }
  auto none = log_->flow(origin, h, 3, [](const delivery_event& e) { return e.recipient == "r3@y"; });
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ((*none)[0].received, 0u);
  EXPECT_EQ((*none)[2].received, 1u);
}

TEST_F(delivery_log_test, prune_drops_old_rows_and_events_survive_reopen) {
  log_->record({ev(delivery_kind::received, "old", "a@x", "b@y", 1000),
                ev(delivery_kind::received, "new", "a@x", "b@y", 0)});
  log_.reset();  // destruction commits what is pending
  open();
  EXPECT_EQ(find({}).messages.size(), 2u);
  auto n = log_->prune(2000);
  ASSERT_TRUE(n.has_value());
  EXPECT_EQ(*n, 1u);
  auto page = find({});
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].trace, "new");
}

TEST_F(delivery_log_test, retention_is_applied_when_opened) {
  log_->record(ev(delivery_kind::received, "ancient", "a@x", "b@y", 1000));
  log_.reset();
  open(delivery_log_options{}.retention);  // the writer prunes once at start, then hourly
  log_->record(ev(delivery_kind::received, "fresh", "a@x", "b@y"));
  log_->flush();
  for (int i = 0; i < 100 && find({}).messages.size() != 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto page = find({});
  ASSERT_EQ(page.messages.size(), 1u);
  EXPECT_EQ(page.messages[0].trace, "fresh");
}

}  // namespace
}  // namespace homthu::storage
