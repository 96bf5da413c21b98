// Group commit for the metadata database (see writer.hpp). Trusts the jobs
// it runs (they are the store's own code); every SQLite failure becomes a
// storage error returned to the job's caller.

#include "writer.hpp"

#include <future>

namespace homthu::storage {

boost::system::error_code sqlite_error(int code) {
  switch (code & 0xFF) {
    case SQLITE_FULL: return make_error_code(error::disk_full);
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return make_error_code(error::busy);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return make_error_code(error::corrupt);
    default: return make_error_code(error::io_error);
  }
}

struct writer::pending {
  job fn;
  boost::system::error_code ec;
  std::vector<change_event> events;
  std::promise<void> done;
};

writer::writer(std::unique_ptr<db::connection> conn, const std::string& path, bool fsync, publish_fn publish)
    : conn_(std::move(conn)),
      publish_(std::move(publish)),
      ckpt_conn_(std::make_unique<db::connection>(path, false, fsync)) {
  // Replaces SQLite's automatic checkpoint (itself a WAL hook) on the
  // writer's connection; the checkpoint connection never writes, so it
  // needs none.
  sqlite3_wal_hook(conn_->handle(), &writer::on_wal_commit, this);
  sqlite3_wal_autocheckpoint(ckpt_conn_->handle(), 0);
  ckpt_thread_ = std::thread([this] { checkpoint_loop(); });
  thread_ = std::thread([this] { loop(); });
}

writer::~writer() {
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  ckpt_cv_.notify_all();
  thread_.join();
  ckpt_thread_.join();
}

// Runs on the writer thread after each commit; `pages` is the WAL's length.
int writer::on_wal_commit(void* self, sqlite3* db, const char* name, int pages) {
  auto* w = static_cast<writer*>(self);
  if (pages >= wal_hard_limit) {
    int log = 0;
    int done = 0;
    sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
  } else if (pages >= wal_soft_limit) {
    {
      std::lock_guard lk(w->mutex_);
      w->ckpt_wanted_ = true;
    }
    w->ckpt_cv_.notify_one();
  }
  return SQLITE_OK;  // a failed checkpoint is retried at the next commit
}

void writer::checkpoint_loop() {
  while (true) {
    {
      std::unique_lock lk(mutex_);
      ckpt_cv_.wait(lk, [&] { return stop_ || ckpt_wanted_; });
      if (stop_) {
        return;
      }
      ckpt_wanted_ = false;
    }
    // PASSIVE copies every frame no reader still needs and fsyncs the
    // database; the next write transaction after a complete copy starts the
    // WAL again from its beginning. SQLITE_BUSY (the writer's own fallback
    // checkpoint running) leaves the work to the next wake-up.
    int log = 0;
    int done = 0;
    if (sqlite3_wal_checkpoint_v2(ckpt_conn_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
        SQLITE_OK) {
      std::lock_guard lk(mutex_);
      ++stats_.checkpoints;
    }
  }
}

boost::system::error_code writer::run(job fn) {
  pending p;
  p.fn = std::move(fn);
  auto fut = p.done.get_future();
  {
    std::lock_guard lk(mutex_);
    if (stop_) {
      return make_error_code(error::io_error);
    }
    queue_.push_back(&p);
  }
  cv_.notify_one();
  fut.wait();
  return p.ec;
}

void writer::set_idle_task(idle_fn fn) {
  std::lock_guard lk(mutex_);
  idle_ = std::move(fn);
}

void writer::request_idle() {
  {
    std::lock_guard lk(mutex_);
    idle_wanted_ = true;
  }
  cv_.notify_one();
}

void writer::run_idle(load l) {
  idle_fn fn;
  {
    std::lock_guard lk(mutex_);
    if (!idle_wanted_ || !idle_) {
      return;
    }
    idle_wanted_ = false;  // a request made while the task runs sets it again
    fn = idle_;
  }
  bool more = false;
  try {
    more = fn(*conn_, l);
  } catch (const std::exception&) {
    // The task's transaction failed (disk full, I/O error): it is rolled
    // back below and retried at the next request, not in a loop.
    more = false;
  }
  if (!sqlite3_get_autocommit(conn_->handle())) {
    try {
      conn_->exec("ROLLBACK");
    } catch (const db::sql_error&) {
    }
  }
  if (more) {
    std::lock_guard lk(mutex_);
    idle_wanted_ = true;
  }
}

writer::stats writer::get_stats() const {
  std::lock_guard lk(mutex_);
  return stats_;
}

void writer::loop() {
  auto& c = *conn_;
  while (true) {
    std::deque<pending*> batch;
    {
      std::unique_lock lk(mutex_);
      cv_.wait(lk, [&] { return stop_ || !queue_.empty() || (idle_wanted_ && idle_); });
      if (queue_.empty() && !stop_) {
        // Only the background task wants the thread. Jobs that follow one
        // another closely (one SMTP connection's deliveries) go first: its
        // commit and fsync would be in their way.
        cv_.wait_for(lk, idle_quiet, [&] { return stop_ || !queue_.empty(); });
      }
      if (queue_.empty() && stop_) {
        return;
      }
      batch.swap(queue_);
    }
    if (batch.empty()) {
      run_idle(load::quiet);
      continue;
    }
    boost::system::error_code batch_ec;
    try {
      c.exec("BEGIN IMMEDIATE");
      for (auto* p : batch) {
        c.exec("SAVEPOINT job");
        try {
          p->ec = p->fn(c, p->events);
        } catch (const db::sql_error& e) {
          p->ec = sqlite_error(e.code);
        } catch (const std::exception&) {
          p->ec = make_error_code(error::io_error);
        }
        if (sqlite3_get_autocommit(c.handle())) {
          // SQLite rolled the whole transaction back (disk full, I/O
          // error): every job of this batch failed.
          throw db::sql_error(SQLITE_IOERR, "transaction aborted");
        }
        if (p->ec) {
          p->events.clear();
          c.exec("ROLLBACK TO job");
        }
        c.exec("RELEASE job");
      }
      c.exec("COMMIT");
    } catch (const db::sql_error& e) {
      batch_ec = sqlite_error(e.code);
      if (!sqlite3_get_autocommit(c.handle())) {
        try {
          c.exec("ROLLBACK");
        } catch (const db::sql_error&) {
        }
      }
    }
    std::vector<change_event> events;
    for (auto* p : batch) {
      if (batch_ec) {
        if (!p->ec) {
          p->ec = batch_ec;
        }
      } else if (!p->ec) {
        events.insert(events.end(), p->events.begin(), p->events.end());
      }
    }
    if (!events.empty() && publish_) {
      publish_(events);
    }
    {
      std::lock_guard lk(mutex_);
      ++stats_.commits;
      stats_.jobs += batch.size();
    }
    for (auto* p : batch) {
      p->done.set_value();
    }
    bool waiting;
    {
      std::lock_guard lk(mutex_);
      waiting = !queue_.empty();
    }
    run_idle(waiting ? load::waiting : load::between);
  }
}

}  // namespace homthu::storage
