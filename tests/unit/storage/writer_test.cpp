// The single writer: checkpoints run on their own thread, beside the group
// commits, and the WAL stays bounded while commits keep coming.

#include "../../../storage/src/writer.hpp"
#include "test_util.hpp"

#include <chrono>
#include <algorithm>
#include <filesystem>
#include <mutex>
#include <thread>

namespace homthu::storage::testing {
namespace {

using namespace std::chrono_literals;

std::uintmax_t file_size_or_zero(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? 0 : n;
}

// A fresh database holding one table, and the writer over it.
class writer_test : public ::testing::Test {
 protected:
  void TearDown() override {
    w_.reset();
    std::filesystem::remove_all(dir_);
  }
  writer& open(const char* table) {
    auto c = std::make_unique<db::connection>(path_, false, true);
    c->exec(table);
    w_ = std::make_unique<writer>(std::move(c), path_, true, nullptr);
    return *w_;
  }
  const std::string dir_ = make_temp_dir("writer");
  const std::string path_ = dir_ + "/w.db";
  std::unique_ptr<writer> w_;
};

TEST_F(writer_test, checkpoints_beside_the_commits_and_keeps_the_wal_bounded) {
  auto& w = open("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)");

  // 1,500 commits of 32 KB rows: about 13,500 pages through the WAL, more
  // than three times the point where the writer checkpoints itself.
  const std::string row(32768, 'x');
  for (int i = 0; i < 1500; ++i) {
    auto ec = w.run([&](db::connection& conn, std::vector<change_event>&) -> boost::system::error_code {
      auto& s = conn.cached("INSERT INTO t(v) VALUES(?)");
      s.bind_blob(1, row);
      s.run();
      return {};
    });
    ASSERT_FALSE(ec) << ec.message();
  }
  for (int i = 0; i < 100 && w.get_stats().checkpoints == 0; ++i) {
    std::this_thread::sleep_for(50ms);
  }
  const auto st = w.get_stats();
  EXPECT_GE(st.checkpoints, 1u) << "the checkpoint thread never ran";
  EXPECT_EQ(st.commits, 1500u);
  // A WAL that was never reset would hold every page written (≥ 13,500).
  // Reset after complete checkpoints, it goes past the hard limit only by
  // what is written while the thread's checkpoint holds the lock the
  // writer's own one needs: twice the limit is ample.
  const std::uintmax_t frame = 4096 + 24;
  const auto wal = file_size_or_zero(path_ + "-wal");
  EXPECT_LE(wal, 2 * writer::wal_hard_limit * frame) << "WAL of " << wal << " octets";

  // Everything committed is readable from a fresh connection.
  db::connection r(path_, true, true);
  auto s = r.prepare("SELECT count(*), sum(length(v)) FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.i64(0), 1500);
  EXPECT_EQ(s.i64(1), 1500 * 32768);
}

TEST_F(writer_test, a_failing_job_rolls_back_alone_and_the_writer_goes_on) {
  auto& w = open("CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
  auto insert = [&](const char* v) {
    return w.run([v](db::connection& conn, std::vector<change_event>&) -> boost::system::error_code {
      auto s = conn.prepare("INSERT INTO t(v) VALUES(?)");
      if (v) {
        s.bind(1, std::string_view(v));
      } else {
        s.bind_null(1);  // violates NOT NULL: sql_error inside the job
      }
      s.run();
      return {};
    });
  };
  EXPECT_FALSE(insert("a"));
  EXPECT_TRUE(insert(nullptr));
  EXPECT_FALSE(insert("b"));
  db::connection r(path_, true, true);
  auto s = r.prepare("SELECT group_concat(v, ',') FROM t");
  ASSERT_TRUE(s.step());
  EXPECT_EQ(s.text(0), "a,b");
}

// The background task (the full-text index) is offered the thread after
// each batch as "between" (or "waiting" when jobs are queued), and as
// "quiet" only once no job has come for a moment.
TEST_F(writer_test, the_background_task_waits_for_a_quiet_moment) {
  auto& w = open("CREATE TABLE t(id INTEGER PRIMARY KEY)");
  std::mutex m;
  std::vector<writer::load> calls;  // the load given to each call
  w.set_idle_task([&](db::connection&, writer::load l) {
    std::lock_guard lk(m);
    calls.push_back(l);
    return l != writer::load::quiet;  // a busy call leaves its work for the quiet moment
  });
  // Requested from inside the job, as a delivery does: the first offer then
  // follows the batch, whatever the scheduler does with this thread.
  auto job = [&w](db::connection& conn, std::vector<change_event>&) -> boost::system::error_code {
    conn.exec("INSERT INTO t DEFAULT VALUES");
    w.request_idle();
    return {};
  };
  ASSERT_FALSE(w.run(job));
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lk(m);
      if (!calls.empty() && calls.back() == writer::load::quiet) {
        break;
      }
    }
    std::this_thread::sleep_for(10ms);
  }
  std::this_thread::sleep_for(50ms);  // time to be called again, were it to be
  std::lock_guard lk(m);
  ASSERT_GE(calls.size(), 2u);
  EXPECT_EQ(calls.front(), writer::load::between) << "the first offer follows the batch";
  EXPECT_EQ(calls.back(), writer::load::quiet) << "the task never got a quiet moment";
  EXPECT_EQ(std::count(calls.begin(), calls.end(), writer::load::quiet), 1) << "it ran again with nothing requested";
}

}  // namespace
}  // namespace homthu::storage::testing
