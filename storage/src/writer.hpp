#pragma once
// The single writer of the metadata database and its group commit.
// Callers on any thread submit a job and block until the transaction that
// ran it is committed. The writer thread takes every job queued while the
// previous commit was syncing, runs each inside its own SAVEPOINT (a failing
// job rolls back alone), and commits them with one fsync of the WAL.
// Change events a job records are published after the commit, before the
// callers are released.
//
// Invariant: the queue mutex is held only to push or swap the queue, never
// across SQLite work or fsync.

#include "db/sqlite.hpp"
#include "homthu/storage/store.hpp"

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

  writer(std::unique_ptr<db::connection> conn, publish_fn publish);
  ~writer();

  // Runs `fn` in the next group commit; returns its error or the commit's.
  boost::system::error_code run(job fn);

  struct stats {
    std::uint64_t commits = 0;
    std::uint64_t jobs = 0;
  };
  stats get_stats() const;

 private:
  struct pending;
  void loop();

  std::unique_ptr<db::connection> conn_;
  publish_fn publish_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<pending*> queue_;
  bool stop_ = false;
  stats stats_;
  std::thread thread_;
};

}  // namespace homthu::storage
