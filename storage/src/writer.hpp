#pragma once
// The single writer of the metadata database and its group commit.
// Callers on any thread submit a job and block until the transaction that
// ran it is committed. The writer thread takes every job queued while the
// previous commit was syncing, runs each inside its own SAVEPOINT (a failing
// job rolls back alone), and commits them with one fsync of the WAL.
// Change events a job records are published after the commit, before the
// callers are released.
//
// Invariant: the mutex is held only to push or swap the queue and to read
// or set flags and counters, never across SQLite work or fsync.
//
// Checkpoints run beside the writer, not inside its commits: SQLite's
// automatic checkpoint would copy the WAL into the database (and fsync it)
// inside whichever commit crossed 1,000 pages, stalling every caller of
// that batch. The writer's connection has no automatic checkpoint; a WAL
// hook wakes a checkpoint thread, which runs PASSIVE checkpoints (they never
// block the writer or readers) on its own connection. Only if the WAL grows
// past `wal_hard_limit` pages (the thread cannot keep up) does the writer
// checkpoint itself, as SQLite would have.

#include "db/sqlite.hpp"
#include "homthu/storage/store.hpp"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace homthu::storage {

// SQLite result code → storage error.
boost::system::error_code sqlite_error(int code);

class writer {
 public:
  using job = std::function<boost::system::error_code(db::connection&, std::vector<change_event>&)>;
  using publish_fn = std::function<void(const std::vector<change_event>&)>;

  // `path`: the database file, for the checkpoint thread's own connection.
  writer(std::unique_ptr<db::connection> conn, const std::string& path, bool fsync, publish_fn publish);
  ~writer();

  // Runs `fn` in the next group commit; returns its error or the commit's.
  boost::system::error_code run(job fn);

  // Background work done between group commits (the full-text index). Once
  // requested, `fn(conn, load)` runs on the writer thread after each batch
  // (`waiting`: jobs are queued already; `between`: none yet, but jobs keep
  // coming) and once no job has come for `idle_quiet` (`quiet`). The task
  // should do less the busier the writer is, nothing unless its backlog has
  // grown. It opens and commits its own transaction and returns whether
  // work remains.
  enum class load { quiet, between, waiting };
  using idle_fn = std::function<bool(db::connection&, load)>;
  void set_idle_task(idle_fn fn);  // before the first request_idle()
  void request_idle();             // any thread, the writer's included

  struct stats {
    std::uint64_t commits = 0;
    std::uint64_t jobs = 0;
    std::uint64_t checkpoints = 0;  // by the checkpoint thread
  };

  // One SMTP connection's deliveries come about 2 ms apart.
  static constexpr std::chrono::milliseconds idle_quiet{5};
  static constexpr int wal_soft_limit = 1000;    // pages: wake the checkpoint thread (SQLite's default)
  static constexpr int wal_hard_limit = 4000;    // pages (16 MiB): the writer checkpoints itself
  stats get_stats() const;

 private:
  struct pending;
  void loop();
  void checkpoint_loop();
  void run_idle(load l);
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int pages);

  std::unique_ptr<db::connection> conn_;
  publish_fn publish_;
  idle_fn idle_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<pending*> queue_;
  bool stop_ = false;
  bool idle_wanted_ = false;
  stats stats_;
  std::unique_ptr<db::connection> ckpt_conn_;
  std::condition_variable ckpt_cv_;
  bool ckpt_wanted_ = false;
  std::thread ckpt_thread_;
  std::thread thread_;
};

}  // namespace homthu::storage
