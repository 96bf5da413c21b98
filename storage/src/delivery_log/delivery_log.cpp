// delivery.db: the delivery log (see delivery_log.hpp). Trusts its callers
// (smtp/) for the content of events and binds every value as a parameter.
// Invariants: record() takes only the queue mutex, never a database lock,
// so SMTP sessions do not wait on disk; one writer thread owns the write
// connection and commits whatever queued while the previous batch was
// committing; searches read through their own connection (WAL readers do
// not block the writer) and are bounded: at most 200 messages per page,
// max_scan rows examined per call, max_events rows per message.
#include "homthu/storage/delivery_log.hpp"
#include "homthu/storage/store.hpp"

#include "db/sqlite.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace homthu::storage {

namespace {

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS event (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  trace TEXT NOT NULL,
  queue_id INTEGER NOT NULL,
  kind TEXT NOT NULL,
  message_id TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  via TEXT NOT NULL,
  client TEXT NOT NULL,
  user TEXT NOT NULL,
  listener TEXT NOT NULL,
  remote TEXT NOT NULL,
  reply TEXT NOT NULL,
  next_attempt_ms INTEGER NOT NULL,
  size INTEGER NOT NULL,
  detail TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_time ON event(time_ms);
CREATE INDEX IF NOT EXISTS event_trace ON event(trace);
CREATE INDEX IF NOT EXISTS event_sender ON event(sender);
CREATE INDEX IF NOT EXISTS event_recipient ON event(recipient);
CREATE INDEX IF NOT EXISTS event_message_id ON event(message_id);
CREATE INDEX IF NOT EXISTS event_queue ON event(queue_id);
)sql";

constexpr const char* columns =
    "id, time_ms, trace, queue_id, kind, message_id, sender, recipient, via, client, user, listener, remote, "
    "reply, next_attempt_ms, size, detail";

constexpr std::size_t max_page = 200;
constexpr std::size_t max_scan = 20000;     // rows examined per search
constexpr std::size_t scan_chunk = 500;
constexpr std::size_t max_events = 1000;    // rows shown per message
constexpr auto prune_every = std::chrono::hours(1);

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

std::string strip_angles(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '<')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '>')) {
    s.remove_suffix(1);
  }
  return std::string(s);
}

delivery_event read_row(const db::statement& st) {
  delivery_event e;
  e.id = st.i64(0);
  e.time_ms = st.i64(1);
  e.trace = st.text(2);
  e.queue_id = st.i64(3);
  e.kind = st.text(4);
  e.message_id = st.text(5);
  e.sender = st.text(6);
  e.recipient = st.text(7);
  e.via = st.text(8);
  e.client = st.text(9);
  e.user = st.text(10);
  e.listener = st.text(11);
  e.remote = st.text(12);
  e.reply = st.text(13);
  e.next_attempt_ms = st.i64(14);
  e.size = static_cast<std::uint64_t>(st.i64(15));
  e.detail = st.text(16);
  return e;
}

boost::system::error_code map_sql(const db::sql_error& e) {
  switch (e.code & 0xFF) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return make_error_code(error::busy);
    case SQLITE_FULL: return make_error_code(error::disk_full);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return make_error_code(error::corrupt);
    default: return make_error_code(error::io_error);
  }
}

// The WHERE clause of a search (parameters ?1..?6 always bound; an empty
// value or 0 means "no condition", which SQLite folds away cheaply).
struct filter {
  std::string sender, recipient, message_id, trace;
  std::int64_t since = 0, until = 0;

  static constexpr const char* where =
      " (?1 = '' OR sender = ?1) AND (?2 = '' OR recipient = ?2) AND (?3 = '' OR message_id = ?3)"
      " AND (?4 = '' OR trace = ?4) AND (?5 = 0 OR time_ms >= ?5) AND (?6 = 0 OR time_ms < ?6)";

  void bind(db::statement& st) const {
    st.bind(1, std::string_view(sender));
    st.bind(2, std::string_view(recipient));
    st.bind(3, std::string_view(message_id));
    st.bind(4, std::string_view(trace));
    st.bind(5, since);
    st.bind(6, until);
  }
};

class sqlite_delivery_log final : public delivery_log {
 public:
  explicit sqlite_delivery_log(const delivery_log_options& o) : opts_(o) {
    auto parent = std::filesystem::path(o.path).parent_path();
    if (!parent.empty()) {
      std::error_code ec;
      std::filesystem::create_directories(parent, ec);
    }
    try {
      writer_db_ = std::make_unique<db::connection>(o.path, false, o.fsync);
      writer_db_->exec(schema);
      reader_db_ = std::make_unique<db::connection>(o.path, true, o.fsync);
    } catch (const db::sql_error& e) {
      throw std::runtime_error(o.path + ": " + e.what());
    }
    thread_ = std::thread([this] { run(); });
  }

  ~sqlite_delivery_log() override {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  void record(delivery_event e) override {
    std::vector<delivery_event> v;
    v.push_back(std::move(e));
    record(std::move(v));
  }

  void record(std::vector<delivery_event> events) override {
    const auto now = now_ms();
    {
      std::lock_guard lock(mu_);
      for (auto& e : events) {
        if (pending_.size() >= opts_.max_pending) {
          ++dropped_;
          continue;
        }
        if (e.time_ms == 0) {
          e.time_ms = now;
        }
        e.sender = lower(e.sender);
        e.recipient = lower(e.recipient);
        e.via = lower(e.via);
        e.message_id = strip_angles(e.message_id);
        pending_.push_back(std::move(e));
        ++enqueued_;
      }
    }
    cv_.notify_all();
  }

  void flush() override {
    std::unique_lock lock(mu_);
    const auto target = enqueued_;
    flush_requested_ = true;
    cv_.notify_all();
    done_cv_.wait(lock, [&] { return committed_ >= target || stop_; });
  }

  std::uint64_t dropped() const override {
    std::lock_guard lock(mu_);
    return dropped_;
  }

  boost::system::result<delivery_page> search(const delivery_query& q) override {
    filter f;
    f.sender = lower(q.sender);
    f.recipient = lower(q.recipient);
    f.message_id = strip_angles(q.message_id);
    f.trace = q.trace;
    f.since = q.since_ms;
    f.until = q.until_ms;
    const std::size_t limit = std::clamp<std::size_t>(q.limit == 0 ? 50 : q.limit, 1, max_page);
    auto visible = [&q](const delivery_event& e) { return !q.visible || q.visible(e); };
    std::lock_guard lock(reader_mu_);
    try {
      auto& conn = *reader_db_;
      // Bound the id range by the time range (ids grow with time), so a
      // search over "yesterday" does not walk the whole table.
      std::int64_t low = 0, high = q.cursor > 0 ? q.cursor : INT64_MAX;
      if (f.since) {
        auto st = conn.prepare("SELECT min(id) FROM event WHERE time_ms >= ?");
        st.bind(1, f.since);
        if (st.step() && !st.is_null(0)) {
          low = st.i64(0);
        } else {
          return delivery_page{};
        }
      }
      if (f.until) {
        auto st = conn.prepare("SELECT max(id) FROM event WHERE time_ms < ?");
        st.bind(1, f.until);
        if (st.step() && !st.is_null(0)) {
          high = std::min(high, st.i64(0) + 1);
        } else {
          return delivery_page{};
        }
      }
      delivery_page page;
      std::set<std::string> taken;    // traces on this page
      std::set<std::string> earlier;  // traces already shown on an earlier page
      auto scan = conn.prepare(std::string("SELECT ") + columns + " FROM event WHERE" + filter::where +
                               " AND id >= ?7 AND id < ?8 ORDER BY id DESC LIMIT ?9");
      auto before = conn.prepare(std::string("SELECT ") + columns + " FROM event WHERE" + filter::where +
                                 " AND id >= ?7");
      std::size_t scanned = 0;
      std::int64_t upper = high;
      bool exhausted = false;
      while (!exhausted && page.next_cursor == 0) {
        scan.reset();
        f.bind(scan);
        scan.bind(7, low);
        scan.bind(8, upper);
        scan.bind(9, static_cast<std::int64_t>(scan_chunk));
        std::size_t got = 0;
        while (scan.step()) {
          ++got;
          ++scanned;
          auto e = read_row(scan);
          upper = e.id;
          if (!visible(e) || taken.count(e.trace) || earlier.count(e.trace)) {
            continue;
          }
          if (q.cursor > 0) {
            // Shown on an earlier page when a visible matching row of the
            // same message lies above the cursor.
            auto t = f;
            t.trace = e.trace;
            before.reset();
            t.bind(before);
            before.bind(7, q.cursor);
            bool seen = false;
            while (!seen && before.step()) {
              seen = visible(read_row(before));
            }
            if (seen) {
              earlier.insert(e.trace);
              continue;
            }
          }
          if (taken.size() == limit) {
            page.next_cursor = e.id + 1;
            break;
          }
          taken.insert(e.trace);
          page.messages.push_back({e.trace, {}});
        }
        if (page.next_cursor == 0 && got < scan_chunk) {
          exhausted = true;
        } else if (page.next_cursor == 0 && scanned >= max_scan) {
          page.next_cursor = upper;  // a partial page; the next continues below
          break;
        }
      }
      auto rows = conn.prepare(std::string("SELECT ") + columns + " FROM event WHERE trace = ? ORDER BY id");
      for (auto& m : page.messages) {
        rows.reset();
        rows.bind(1, std::string_view(m.trace));
        while (rows.step()) {
          auto e = read_row(rows);
          if (!visible(e)) {
            continue;
          }
          if (m.events.size() < max_events) {
            m.events.push_back(std::move(e));
          } else {
            ++m.omitted;
          }
        }
      }
      return page;
    } catch (const db::sql_error& e) {
      return map_sql(e);
    }
  }

  boost::system::result<std::vector<flow_bucket>> flow(
      std::int64_t origin_ms, std::int64_t bucket_ms, std::size_t buckets,
      const std::function<bool(const delivery_event&)>& visible) override {
    std::vector<flow_bucket> out(buckets);
    for (std::size_t i = 0; i < buckets; ++i) {
      out[i].start_ms = origin_ms + static_cast<std::int64_t>(i) * bucket_ms;
    }
    if (bucket_ms <= 0 || buckets == 0) {
      return out;
    }
    const std::int64_t end = origin_ms + static_cast<std::int64_t>(buckets) * bucket_ms;
    auto add = [&](std::size_t b, std::string_view kind, std::uint64_t n, std::uint64_t distinct) {
      auto& x = out[b];
      if (kind == delivery_kind::received) {
        x.received += distinct;
      } else if (kind == delivery_kind::delivered) {
        x.delivered += n;
      } else if (kind == delivery_kind::relayed) {
        x.relayed += n;
      } else if (kind == delivery_kind::deferred) {
        x.deferred += n;
      } else if (kind == delivery_kind::bounced) {
        x.bounced += n;
      } else if (kind == delivery_kind::rejected) {
        x.rejected += distinct;
      }
    };
    std::lock_guard lock(reader_mu_);
    try {
      auto& conn = *reader_db_;
      if (!visible) {
        auto st = conn.prepare(
            "SELECT (time_ms - ?1) / ?2 AS b, kind, count(*), count(DISTINCT trace) FROM event "
            "WHERE time_ms >= ?1 AND time_ms < ?3 GROUP BY b, kind");
        st.bind(1, origin_ms);
        st.bind(2, bucket_ms);
        st.bind(3, end);
        while (st.step()) {
          const auto b = st.i64(0);
          if (b >= 0 && static_cast<std::size_t>(b) < buckets) {
            add(static_cast<std::size_t>(b), st.text(1), static_cast<std::uint64_t>(st.i64(2)),
                static_cast<std::uint64_t>(st.i64(3)));
          }
        }
        return out;
      }
      // Scoped: every row in the range passes the caller's filter.
      auto st = conn.prepare(std::string("SELECT ") + columns + " FROM event WHERE time_ms >= ?1 AND time_ms < ?2");
      st.bind(1, origin_ms);
      st.bind(2, end);
      std::set<std::pair<std::size_t, std::string>> counted;  // (bucket, trace) for distinct kinds
      while (st.step()) {
        auto e = read_row(st);
        if (!visible(e)) {
          continue;
        }
        const auto b = static_cast<std::size_t>((e.time_ms - origin_ms) / bucket_ms);
        if (b >= buckets) {
          continue;
        }
        const bool distinct_kind = e.kind == delivery_kind::received || e.kind == delivery_kind::rejected;
        const bool first = distinct_kind && counted.insert({b, e.kind + "\n" + e.trace}).second;
        add(b, e.kind, 1, first ? 1 : 0);
      }
      return out;
    } catch (const db::sql_error& e) {
      return map_sql(e);
    }
  }

  boost::system::result<std::size_t> prune(std::int64_t before_ms) override {
    std::size_t total = 0;
    try {
      for (;;) {
        std::lock_guard lock(writer_mu_);
        auto st = writer_db_->prepare(
            "DELETE FROM event WHERE id IN (SELECT id FROM event WHERE time_ms < ? ORDER BY time_ms LIMIT 5000)");
        st.bind(1, before_ms);
        st.step();
        const auto n = static_cast<std::size_t>(writer_db_->changes());
        total += n;
        if (n < 5000) {
          break;
        }
      }
    } catch (const db::sql_error& e) {
      return map_sql(e);
    }
    return total;
  }

 private:
  void run() {
    auto next_prune = std::chrono::steady_clock::now();
    for (;;) {
      std::deque<delivery_event> batch;
      std::uint64_t upto = 0;
      {
        std::unique_lock lock(mu_);
        cv_.wait_until(lock, next_prune, [&] { return stop_ || !pending_.empty(); });
        if (!pending_.empty() && !stop_ && !flush_requested_) {
          // Let a batch gather: one transaction for every event of the interval.
          cv_.wait_for(lock, opts_.commit_interval, [&] { return stop_ || flush_requested_; });
        }
        flush_requested_ = false;
        batch.swap(pending_);
        upto = enqueued_;
        if (batch.empty() && stop_) {
          committed_ = upto;
          done_cv_.notify_all();
          return;
        }
      }
      if (!batch.empty()) {
        commit(batch);
      }
      {
        std::lock_guard lock(mu_);
        committed_ = upto;
      }
      done_cv_.notify_all();
      if (std::chrono::steady_clock::now() >= next_prune) {
        next_prune = std::chrono::steady_clock::now() + prune_every;
        const auto cutoff = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(opts_.retention).count();
        (void)prune(cutoff);
      }
    }
  }

  void commit(std::deque<delivery_event>& batch) {
    std::lock_guard lock(writer_mu_);
    auto& conn = *writer_db_;
    try {
      conn.exec("BEGIN");
      auto& ins = conn.cached(
          "INSERT INTO event(time_ms, trace, queue_id, kind, message_id, sender, recipient, via, client, user, "
          "listener, remote, reply, next_attempt_ms, size, detail) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
      auto& find = conn.cached(
          "SELECT trace FROM event WHERE queue_id = ? AND kind = 'queued' ORDER BY id DESC LIMIT 1");
      std::map<std::int64_t, std::string> traces;
      for (auto& e : batch) {
        if (e.trace.empty() && e.queue_id != 0) {
          auto it = traces.find(e.queue_id);
          if (it == traces.end()) {
            db::reset_guard g(find);
            find.bind(1, e.queue_id);
            it = traces.emplace(e.queue_id, find.step() ? find.text(0) : "queue." + std::to_string(e.queue_id)).first;
          }
          e.trace = it->second;
        }
        if (e.kind == delivery_kind::queued && e.queue_id != 0) {
          traces[e.queue_id] = e.trace;
        }
        db::reset_guard g(ins);
        ins.bind_all(e.time_ms, e.trace, e.queue_id, e.kind, e.message_id, e.sender, e.recipient, e.via, e.client,
                     e.user, e.listener, e.remote, e.reply, e.next_attempt_ms, static_cast<std::int64_t>(e.size),
                     e.detail);
        ins.step();
      }
      conn.exec("COMMIT");
    } catch (const db::sql_error&) {
      try {
        conn.exec("ROLLBACK");
      } catch (const db::sql_error&) {
      }
      std::lock_guard l(mu_);
      dropped_ += batch.size();
    }
  }

  delivery_log_options opts_;
  std::unique_ptr<db::connection> writer_db_;
  std::unique_ptr<db::connection> reader_db_;
  std::mutex writer_mu_;
  std::mutex reader_mu_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable done_cv_;
  std::deque<delivery_event> pending_;
  std::uint64_t enqueued_ = 0;
  std::uint64_t committed_ = 0;
  std::uint64_t dropped_ = 0;
  bool flush_requested_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<delivery_log> open_delivery_log(const delivery_log_options& opts) {
  return std::make_unique<sqlite_delivery_log>(opts);
}

std::string default_delivery_log_path(const std::string& storage_path) {
  return (std::filesystem::path(storage_path) / "delivery.db").string();
}

}  // namespace homthu::storage
