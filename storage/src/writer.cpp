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

writer::writer(std::unique_ptr<db::connection> conn, publish_fn publish)
    : conn_(std::move(conn)), publish_(std::move(publish)), thread_([this] { loop(); }) {}

writer::~writer() {
  {
    std::lock_guard lk(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
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
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty() && stop_) {
        return;
      }
      batch.swap(queue_);
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
  }
}

}  // namespace homthu::storage
