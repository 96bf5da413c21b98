// The outbound queue's durable records (see queue.hpp). Input: envelopes
// and bodies from the SMTP server (already validated: no control characters
// in addresses) and ids from homthuctl. Invariants: a row exists only for a
// body that is already durable in msg/; a body is never removed before its
// row; every SQL statement is prepared with bound parameters.
#include "homthu/storage/queue.hpp"

#include "homthu/storage/store.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <stdexcept>

namespace homthu::storage {
namespace {

namespace fs = std::filesystem;
using boost::system::result;

boost::system::error_code from_errno(int e) {
  return make_error_code(e == ENOSPC || e == EDQUOT ? error::disk_full : error::io_error);
}

bool fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

std::string random_name() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char hexd[] = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < 2; ++i) {
    auto v = rng();
    for (int k = 0; k < 16; ++k) {
      s.push_back(hexd[v & 15]);
      v >>= 4;
    }
  }
  return s;
}

class file_writer final : public queue_writer {
 public:
  file_writer(std::string tmp_path, int fd) : tmp_(std::move(tmp_path)), fd_(fd) {}
  ~file_writer() override {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    if (!tmp_.empty()) {
      ::unlink(tmp_.c_str());
    }
  }
  result<void> write(std::string_view chunk) override {
    while (!chunk.empty()) {
      const auto n = ::write(fd_, chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return from_errno(errno);
      }
      chunk.remove_prefix(static_cast<std::size_t>(n));
      size_ += static_cast<std::uint64_t>(n);
    }
    return {};
  }
  std::uint64_t size() const override { return size_; }

  // Closes (after fsync when asked) and hands the temporary path over.
  result<std::string> finish(bool sync) {
    if (sync && ::fsync(fd_) != 0) {
      return from_errno(errno);
    }
    if (::close(fd_) != 0) {
      fd_ = -1;
      return from_errno(errno);
    }
    fd_ = -1;
    return std::exchange(tmp_, std::string{});
  }

 private:
  std::string tmp_;
  int fd_;
  std::uint64_t size_ = 0;
};

class stmt {
 public:
  stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) {
      throw std::runtime_error(std::string("queue: prepare: ") + sqlite3_errmsg(db));
    }
  }
  ~stmt() { sqlite3_finalize(s_); }
  stmt(const stmt&) = delete;
  stmt& operator=(const stmt&) = delete;
  stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(s_); }
  std::int64_t i64(int c) { return sqlite3_column_int64(s_, c); }
  bool is_null(int c) { return sqlite3_column_type(s_, c) == SQLITE_NULL; }
  std::string text(int c) {
    const auto* p = sqlite3_column_text(s_, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, c)))
             : std::string{};
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS message (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  sender TEXT NOT NULL,
  envid TEXT NOT NULL DEFAULT '',
  ret_full INTEGER NOT NULL DEFAULT 1,
  smtputf8 INTEGER NOT NULL DEFAULT 0,
  eight_bit INTEGER NOT NULL DEFAULT 0,
  submitter TEXT NOT NULL DEFAULT '',
  received_from TEXT NOT NULL DEFAULT '',
  created INTEGER NOT NULL,
  size INTEGER NOT NULL,
  delay_notified INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS recipient (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message INTEGER NOT NULL REFERENCES message(id) ON DELETE CASCADE,
  address TEXT NOT NULL,
  orcpt TEXT NOT NULL DEFAULT '',
  notify INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt INTEGER NOT NULL DEFAULT 0,
  last_attempt INTEGER NOT NULL DEFAULT 0,
  last_reply TEXT NOT NULL DEFAULT '',
  remote_mta TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS recipient_due ON recipient(state, next_attempt);
CREATE INDEX IF NOT EXISTS recipient_message ON recipient(message);
)sql";

class sqlite_queue final : public outbound_queue {
 public:
  explicit sqlite_queue(const queue_options& o) : root_(o.path), fsync_(o.fsync) {
    std::error_code ec;
    fs::create_directories(root_ + "/msg", ec);
    fs::create_directories(root_ + "/tmp", ec);
    if (ec) {
      throw std::runtime_error("queue: cannot create " + root_ + ": " + ec.message());
    }
    const auto db_path = root_ + "/queue.db";
    if (sqlite3_open_v2(db_path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        nullptr) != SQLITE_OK) {
      const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("queue: open " + db_path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec(fsync_ ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF");
    exec("PRAGMA foreign_keys=ON");
    exec(schema);
    sweep();
  }
  ~sqlite_queue() override { sqlite3_close(db_); }

  result<std::unique_ptr<queue_writer>> begin() override {
    auto path = root_ + "/tmp/" + random_name();
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return from_errno(errno);
    }
    return std::unique_ptr<queue_writer>(std::make_unique<file_writer>(std::move(path), fd));
  }

  result<std::int64_t> commit(std::unique_ptr<queue_writer> body, queue_message& msg) override {
    auto* w = dynamic_cast<file_writer*>(body.get());
    if (w == nullptr) {
      return make_error_code(error::io_error);
    }
    msg.size = w->size();
    auto tmp = w->finish(fsync_);
    if (!tmp) {
      return tmp.error();
    }
    const auto name = random_name();
    const auto final_path = root_ + "/msg/" + name;
    if (::rename(tmp->c_str(), final_path.c_str()) != 0) {
      const int e = errno;
      ::unlink(tmp->c_str());
      return from_errno(e);
    }
    if (fsync_ && !fsync_path(root_ + "/msg", true)) {
      const int e = errno;
      ::unlink(final_path.c_str());
      return from_errno(e);
    }
    std::lock_guard lock(mu_);
    if (!exec_ok("BEGIN IMMEDIATE")) {
      ::unlink(final_path.c_str());
      return make_error_code(error::busy);
    }
    {
      stmt s(db_,
             "INSERT INTO message(body, sender, envid, ret_full, smtputf8, eight_bit, submitter, received_from, "
             "created, size) VALUES(?,?,?,?,?,?,?,?,?,?)");
      s.bind(1, name).bind(2, msg.sender).bind(3, msg.envid).bind(4, msg.ret_full ? 1 : 0)
          .bind(5, msg.smtputf8 ? 1 : 0).bind(6, msg.binary ? 2 : msg.eight_bit ? 1 : 0).bind(7, msg.submitter)
          .bind(8, msg.received_from).bind(9, msg.created).bind(10, static_cast<std::int64_t>(msg.size));
      if (s.step() != SQLITE_DONE) {
        exec_ok("ROLLBACK");
        ::unlink(final_path.c_str());
        return make_error_code(error::io_error);
      }
    }
    msg.id = sqlite3_last_insert_rowid(db_);
    for (auto& r : msg.recipients) {
      stmt s(db_, "INSERT INTO recipient(message, address, orcpt, notify, next_attempt) VALUES(?,?,?,?,?)");
      s.bind(1, msg.id).bind(2, r.address).bind(3, r.orcpt).bind(4, static_cast<std::int64_t>(r.notify))
          .bind(5, r.next_attempt);
      if (s.step() != SQLITE_DONE) {
        exec_ok("ROLLBACK");
        ::unlink(final_path.c_str());
        return make_error_code(error::io_error);
      }
      r.id = sqlite3_last_insert_rowid(db_);
    }
    if (!exec_ok("COMMIT")) {
      exec_ok("ROLLBACK");
      ::unlink(final_path.c_str());
      return make_error_code(error::io_error);
    }
    return msg.id;
  }

  result<std::vector<queue_message>> list() override {
    std::lock_guard lock(mu_);
    return load("SELECT id FROM message ORDER BY id", {});
  }

  result<queue_message> get(std::int64_t id) override {
    std::lock_guard lock(mu_);
    auto v = load("SELECT id FROM message WHERE id = ?", id);
    if (!v) {
      return v.error();
    }
    if (v->empty()) {
      return make_error_code(error::not_found);
    }
    return std::move(v->front());
  }

  result<std::vector<queue_message>> due(std::int64_t now, std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<std::int64_t> ids;
    {
      stmt s(db_,
             "SELECT DISTINCT message FROM recipient WHERE state = 0 AND next_attempt <= ? ORDER BY message LIMIT ?");
      s.bind(1, now).bind(2, static_cast<std::int64_t>(limit));
      while (s.step() == SQLITE_ROW) {
        ids.push_back(s.i64(0));
      }
    }
    std::vector<queue_message> out;
    for (auto id : ids) {
      auto v = load("SELECT id FROM message WHERE id = ?", id);
      if (v && !v->empty()) {
        out.push_back(std::move(v->front()));
      }
    }
    return out;
  }

  std::optional<std::int64_t> next_due(std::int64_t now) override {
    std::lock_guard lock(mu_);
    stmt s(db_, "SELECT MIN(next_attempt) FROM recipient WHERE state = 0");
    if (s.step() != SQLITE_ROW || s.is_null(0)) {
      return std::nullopt;
    }
    return std::max<std::int64_t>(0, s.i64(0) - now);
  }

  result<std::string> read_body(std::int64_t id) override { return read_prefix(id, 0); }

  result<std::string> read_headers(std::int64_t id, std::size_t max_bytes) override {
    auto head = read_prefix(id, max_bytes);
    if (head) {
      if (auto end = head->find("\r\n\r\n"); end != std::string::npos) {
        head->resize(end + 4);
      } else if (head->rfind("\r\n", 0) == 0) {
        head->resize(2);  // no header fields at all
      }
    }
    return head;
  }

  // The body file, or its first `limit` octets (0: all).
  result<std::string> read_prefix(std::int64_t id, std::size_t limit) {
    std::string name;
    {
      std::lock_guard lock(mu_);
      stmt s(db_, "SELECT body FROM message WHERE id = ?");
      s.bind(1, id);
      if (s.step() != SQLITE_ROW) {
        return make_error_code(error::not_found);
      }
      name = s.text(0);
    }
    const auto path = root_ + "/msg/" + name;
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return from_errno(errno);
    }
    std::string out;
    char buf[65536];
    for (;;) {
      const auto n = ::read(fd, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        const int e = errno;
        ::close(fd);
        return from_errno(e);
      }
      if (n == 0) {
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
      if (limit != 0 && out.size() >= limit) {
        out.resize(limit);
        break;
      }
    }
    ::close(fd);
    return out;
  }

  result<void> record_attempt(std::int64_t recipient_id, recipient_state state, std::int64_t now,
                              std::int64_t next_attempt, std::string_view reply,
                              std::string_view remote_mta) override {
    std::lock_guard lock(mu_);
    stmt s(db_,
           "UPDATE recipient SET state = ?, attempts = attempts + 1, last_attempt = ?, next_attempt = ?, "
           "last_reply = ?, remote_mta = ? WHERE id = ?");
    s.bind(1, static_cast<std::int64_t>(state)).bind(2, now).bind(3, next_attempt).bind(4, reply)
        .bind(5, remote_mta).bind(6, recipient_id);
    if (s.step() != SQLITE_DONE) {
      return make_error_code(error::io_error);
    }
    return {};
  }

  result<void> set_delay_notified(std::int64_t id) override {
    std::lock_guard lock(mu_);
    stmt s(db_, "UPDATE message SET delay_notified = 1 WHERE id = ?");
    s.bind(1, id);
    return s.step() == SQLITE_DONE ? result<void>{} : result<void>{make_error_code(error::io_error)};
  }

  result<void> retry(std::int64_t id) override {
    std::lock_guard lock(mu_);
    {
      stmt c(db_, "SELECT 1 FROM message WHERE id = ?");
      c.bind(1, id);
      if (c.step() != SQLITE_ROW) {
        return make_error_code(error::not_found);
      }
    }
    stmt s(db_, "UPDATE recipient SET next_attempt = 0 WHERE message = ? AND state = 0");
    s.bind(1, id);
    return s.step() == SQLITE_DONE ? result<void>{} : result<void>{make_error_code(error::io_error)};
  }

  result<void> retry_all() override {
    std::lock_guard lock(mu_);
    return exec_ok("UPDATE recipient SET next_attempt = 0 WHERE state = 0") ? result<void>{}
                                                                             : result<void>{make_error_code(error::io_error)};
  }

  result<void> remove(std::int64_t id) override {
    std::string name;
    {
      std::lock_guard lock(mu_);
      {
        stmt s(db_, "SELECT body FROM message WHERE id = ?");
        s.bind(1, id);
        if (s.step() != SQLITE_ROW) {
          return make_error_code(error::not_found);
        }
        name = s.text(0);
      }
      stmt d(db_, "DELETE FROM message WHERE id = ?");
      d.bind(1, id);
      if (d.step() != SQLITE_DONE) {
        return make_error_code(error::io_error);
      }
    }
    // The row is gone first: a crash here leaves an orphan body that the
    // next open removes, never a row without its body.
    ::unlink((root_ + "/msg/" + name).c_str());
    return {};
  }

 private:
  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown";
      sqlite3_free(err);
      throw std::runtime_error("queue: " + root_ + ": " + msg);
    }
  }
  bool exec_ok(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

  // Removes temporary bodies and bodies without a row (crash leftovers).
  void sweep() {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(root_ + "/tmp", ec)) {
      fs::remove(e.path(), ec);
    }
    std::vector<std::string> known;
    {
      stmt s(db_, "SELECT body FROM message");
      while (s.step() == SQLITE_ROW) {
        known.push_back(s.text(0));
      }
    }
    std::sort(known.begin(), known.end());
    for (const auto& e : fs::directory_iterator(root_ + "/msg", ec)) {
      const auto n = e.path().filename().string();
      if (!std::binary_search(known.begin(), known.end(), n)) {
        fs::remove(e.path(), ec);
      }
    }
  }

  result<std::vector<queue_message>> load(const char* id_sql, std::optional<std::int64_t> arg) {
    std::vector<std::int64_t> ids;
    {
      stmt s(db_, id_sql);
      if (arg) {
        s.bind(1, *arg);
      }
      while (s.step() == SQLITE_ROW) {
        ids.push_back(s.i64(0));
      }
    }
    std::vector<queue_message> out;
    for (auto id : ids) {
      stmt s(db_,
             "SELECT sender, envid, ret_full, smtputf8, eight_bit, submitter, received_from, created, size, "
             "delay_notified FROM message WHERE id = ?");
      s.bind(1, id);
      if (s.step() != SQLITE_ROW) {
        continue;
      }
      queue_message m;
      m.id = id;
      m.sender = s.text(0);
      m.envid = s.text(1);
      m.ret_full = s.i64(2) != 0;
      m.smtputf8 = s.i64(3) != 0;
      // eight_bit: 0 7bit, 1 8BITMIME, 2 BINARYMIME.
      m.eight_bit = s.i64(4) != 0;
      m.binary = s.i64(4) == 2;
      m.submitter = s.text(5);
      m.received_from = s.text(6);
      m.created = s.i64(7);
      m.size = static_cast<std::uint64_t>(s.i64(8));
      m.delay_notified = s.i64(9) != 0;
      stmt r(db_,
             "SELECT id, address, orcpt, notify, state, attempts, next_attempt, last_attempt, last_reply, remote_mta "
             "FROM recipient WHERE message = ? ORDER BY id");
      r.bind(1, id);
      while (r.step() == SQLITE_ROW) {
        queue_recipient q;
        q.id = r.i64(0);
        q.address = r.text(1);
        q.orcpt = r.text(2);
        q.notify = static_cast<std::uint8_t>(r.i64(3));
        q.state = static_cast<recipient_state>(r.i64(4));
        q.attempts = static_cast<std::uint32_t>(r.i64(5));
        q.next_attempt = r.i64(6);
        q.last_attempt = r.i64(7);
        q.last_reply = r.text(8);
        q.remote_mta = r.text(9);
        m.recipients.push_back(std::move(q));
      }
      out.push_back(std::move(m));
    }
    return out;
  }

  std::string root_;
  bool fsync_;
  sqlite3* db_ = nullptr;
  std::mutex mu_;
};

}  // namespace

std::unique_ptr<outbound_queue> open_queue(const queue_options& opts) {
  return std::make_unique<sqlite_queue>(opts);
}

std::string default_queue_path(const std::string& storage_path, const std::string& data_dir) {
  const std::string root = storage_path.empty() ? data_dir + "/mail" : storage_path;
  return root + "/queue";
}

}  // namespace homthu::storage
