// The end of an SMTP transaction (see delivery.hpp). Input: content from
// the session (already de-stuffed and checked for bare CR/LF) and recipients
// the session accepted. Invariants: trace headers are built only from
// validated values (addresses parsed by proto/path, HELO restricted to
// printable ASCII, our own hostname); local deliveries complete before the
// queue record is written, and both before the 250; every failure before
// that point is a 4xx (or 5xx for a permanent reason) and leaves no copy.
#include "delivery.hpp"

#include "../queue/dsn.hpp"
#include "events.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <mutex>
#include <set>

namespace homthu::smtp::detail {
namespace {

constexpr std::size_t head_capture = 64u << 10;
constexpr std::size_t write_batch = 256u << 10;
constexpr std::size_t hold_limit = 4u << 20;  // inbound content held for SPF/DKIM/DMARC
constexpr unsigned max_hops = 50;  // RELIABILITY.md S15; RFC 5321 §6.3

proto::reply storage_reply(const boost::system::error_code& ec) {
  if (ec == storage::error::disk_full) {
    return proto::make_reply(452, "4.3.1", "Insufficient system storage, try again later", ec.message());
  }
  return proto::make_reply(451, "4.3.0", "Temporary storage failure, try again later", ec.message());
}

// Writes `data` to the local spool and the queue body, whichever exist.
boost::system::error_code write_both(storage::spool* sp, storage::queue_writer* qb, std::string_view data) {
  if (sp) {
    if (auto r = sp->write(data); !r) {
      return r.error();
    }
  }
  if (qb) {
    if (auto r = qb->write(data); !r) {
      return r.error();
    }
  }
  return {};
}

boost::system::error_code errno_code(int e) {
  return e == ENOSPC || e == EDQUOT ? storage::make_error_code(storage::error::disk_full)
                                    : storage::make_error_code(storage::error::io_error);
}

std::string clean_token(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
    out.push_back(ok ? static_cast<char>(c) : '_');
  }
  return out;
}

// Expands accepted recipients into mailboxes and outbound addresses.
// Blocking (directory calls); runs on the worker pool.
struct expansion {
  std::vector<storage::delivery_target> targets;
  std::vector<std::string> target_addresses;
  std::vector<std::string> target_primary;
  std::vector<std::string> target_via;
  std::vector<std::pair<std::string, const accepted_rcpt*>> remote;
  std::map<std::string, std::string> remote_via;
  std::vector<message_sink::expanded_list> lists;
  std::string origin;  // the envelope recipient being expanded
  std::string list;    // the innermost list being expanded; empty at the top
  bool unavailable = false;
};

void add_remote(expansion& e, const std::string& address, const std::string& via) {
  auto a = common::to_lower_ascii(address);
  e.remote_via.emplace(a, via);
  e.remote.emplace_back(std::move(a), nullptr);
}

void add_account(expansion& e, std::set<std::string>& seen, const directory::account& a, const std::string& via) {
  if (!a.enabled || !seen.insert(a.id).second) {
    return;
  }
  storage::delivery_target t;
  t.account = a.id;
  t.quota_bytes = a.quota_bytes;
  t.quota_messages = a.quota_messages;
  e.targets.push_back(std::move(t));
  e.target_addresses.push_back(via);
  const auto primary = common::to_lower_ascii(a.address);
  e.target_primary.push_back(primary);
  // Through a list, or an alias of the account; empty when addressed directly.
  e.target_via.push_back(!e.list.empty() ? e.list : (e.origin != primary ? e.origin : std::string{}));
  for (const auto& f : a.forward_to) {
    add_remote(e, f, primary);
  }
}

void expand_one(server_state& st, expansion& e, std::set<std::string>& seen, std::set<std::string>& lists,
                const directory::recipient& r, const std::string& via, int depth) {
  using kind = directory::recipient::kind;
  if (r.type == kind::account) {
    add_account(e, seen, r.acct, via);
  } else if (r.type == kind::forward) {
    for (const auto& f : r.forward_to) {
      add_remote(e, f, e.list.empty() ? e.origin : e.list);
    }
  } else {
    if (depth > 4 || !lists.insert(r.list_address).second) {
      return;  // nested too deep, or a loop between lists
    }
    const auto list_address = common::to_lower_ascii(r.list_address);
    e.lists.push_back({list_address, r.members.size(), e.list});
    const auto outer = e.list;
    e.list = list_address;
    struct restore {
      expansion& e;
      const std::string& outer;
      ~restore() { e.list = outer; }
    } restore_list{e, outer};
    for (const auto& m : r.members) {
      const auto parts = common::split_address(m);
      if (!parts) {
        continue;
      }
      if (!st.is_local_domain(parts->domain)) {
        add_remote(e, m, list_address);
        continue;
      }
      auto sub = st.svc.dir.resolve(m);
      if (!sub) {
        if (sub.error() == directory::error::unavailable) {
          e.unavailable = true;
          return;
        }
        continue;  // a member that no longer exists
      }
      expand_one(st, e, seen, lists, *sub, m, depth + 1);
      if (e.unavailable) {
        return;
      }
    }
  }
}

}  // namespace

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc5322_date(std::int64_t t) {
  static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                           "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday], tm.tm_mday,
                months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

header_facts scan_headers(std::string_view head) {
  header_facts f;
  std::size_t pos = 0;
  std::string from_value;
  bool in_from = false;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      break;  // a partial last line: the header is longer than we captured
    }
    auto line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) {
      f.header_complete = true;
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (in_from) {
        from_value += line;
      }
      continue;
    }
    in_from = false;
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    auto name = common::to_lower_ascii(line.substr(0, colon));
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) {
      name.pop_back();
    }
    if (name == "received") {
      ++f.received;
    } else if (name == "from") {
      f.from_present = true;
      in_from = true;
      from_value += line.substr(colon + 1);
      from_value += ",";
    }
  }
  // Addresses in From: the text inside <...>, or bare addr-specs between
  // commas. Quoted display names may hold '<' or ','; skip quoted text.
  std::string cur;
  bool quoted = false;
  int comment = 0;
  std::string angle;
  bool in_angle = false;
  auto flush = [&] {
    std::string a = !angle.empty() ? angle : cur;
    a.erase(std::remove_if(a.begin(), a.end(), [](char c) { return c == ' ' || c == '\t'; }), a.end());
    if (!a.empty() && a.find('@') != std::string::npos) {
      f.from.push_back(common::to_lower_ascii(a));
    }
    cur.clear();
    angle.clear();
  };
  for (std::size_t i = 0; i < from_value.size(); ++i) {
    const char c = from_value[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
      continue;
    }
    if (comment > 0) {
      if (c == '(') {
        ++comment;
      } else if (c == ')') {
        --comment;
      }
      continue;
    }
    if (c == '"') {
      quoted = true;
    } else if (c == '(') {
      comment = 1;
    } else if (c == '<') {
      in_angle = true;
      angle.clear();
    } else if (c == '>') {
      in_angle = false;
    } else if (c == ',' && !in_angle) {
      flush();
    } else if (c == ':' && !in_angle) {
      cur.clear();  // group syntax "name: a@b, c@d;"
    } else if (c == ';' && !in_angle) {
      flush();
    } else if (in_angle) {
      angle.push_back(c);
    } else {
      cur.push_back(c);
    }
  }
  return f;
}

message_sink::message_sink(session& s) : s_(s), filter_(s.st.hostname) {}

// Whoever comes first runs the parse (std::call_once): a pool thread, or
// the delivery job that needs it, so that no job waits for a thread the
// pool has not given; the other waits for the run in progress.
class message_sink::parse_job {
 public:
  explicit parse_job(std::shared_ptr<const std::string> content) : content_(std::move(content)) {}

  // On a pool thread; nothing to do once taken or cancelled.
  void run() {
    if (!cancelled_.load(std::memory_order_relaxed)) {
      std::call_once(once_, [this] { parse(); });
    }
  }

  // The message was refused: a thread that has not started need not.
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }

  // The parse; null if it failed (deliver() then parses the blob itself).
  storage::parsed_message_ptr take() {
    std::call_once(once_, [this] { parse(); });
    return std::move(parsed_);
  }

 private:
  void parse() {
    try {
      parsed_ = storage::parse_ahead(*content_);
    } catch (const std::bad_alloc&) {
    }
  }

  std::once_flag once_;
  std::atomic<bool> cancelled_{false};
  std::shared_ptr<const std::string> content_;
  storage::parsed_message_ptr parsed_;
};

// An unlinked file: nothing is left behind whatever happens to the session.
struct message_sink::overflow_file {
  int fd = -1;
  std::uint64_t size = 0;
  ~overflow_file() {
    if (fd >= 0) {
      ::close(fd);
    }
  }
  static int open(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
      std::string name = dir + "/.held-XXXXXX";  // a file system without O_TMPFILE
      fd = ::mkostemp(name.data(), O_CLOEXEC);
      if (fd >= 0) {
        ::unlink(name.c_str());
      }
    }
    return fd;
  }
  boost::system::error_code append(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(size));
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return errno_code(errno);
      }
      size += static_cast<std::uint64_t>(n);
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
  }
  // Copies the whole file to the spool and the queue body in large pieces.
  boost::system::error_code copy_to(storage::spool* sp, storage::queue_writer* qb) const {
    std::string buf(write_batch, '\0');
    for (std::uint64_t at = 0; at < size;) {
      const auto n = ::pread(fd, buf.data(), buf.size(), static_cast<off_t>(at));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        return errno_code(n < 0 ? errno : EIO);
      }
      if (auto ec = write_both(sp, qb, std::string_view(buf.data(), static_cast<std::size_t>(n)))) {
        return ec;
      }
      at += static_cast<std::uint64_t>(n);
    }
    return {};
  }
};

message_sink::~message_sink() = default;

asio::awaitable<proto::result<std::unique_ptr<message_sink>>> message_sink::open(session& s) {
  std::unique_ptr<message_sink> sink(new message_sink(s));
  auto& st = s.st;
  const auto& rcpts = s.tx.rcpts;
  // One trip to the worker pool: the expansion, then the spool and the queue
  // body the expansion asks for.
  using spool_result = decltype(st.svc.store.begin_spool());
  using queue_result = decltype(st.queue->begin());
  struct opened {
    expansion e;
    std::optional<spool_result> spool;
    std::optional<queue_result> queue;
  };
  auto o = co_await st.svc.workers.run([&st, &rcpts]() {
    opened o;
    auto& e = o.e;
    std::set<std::string> seen;
    std::set<std::string> lists;
    for (const auto& r : rcpts) {
      if (!r.local) {
        e.remote.emplace_back(r.address, &r);
        continue;
      }
      e.origin = common::to_lower_ascii(r.address);
      expand_one(st, e, seen, lists, r.resolved, r.address, 0);
      if (e.unavailable) {
        return o;
      }
    }
    if (!e.targets.empty()) {
      o.spool = st.svc.store.begin_spool();
      if (!*o.spool) {
        return o;
      }
    }
    if (!e.remote.empty() && st.queue) {
      o.queue = st.queue->begin();
    }
    return o;
  });
  auto& e = o.e;
  if (e.unavailable) {
    co_return proto::make_reply(451, "4.4.3", "Directory temporarily unavailable, try again later");
  }
  sink->targets = std::move(e.targets);
  sink->target_addresses = std::move(e.target_addresses);
  sink->target_primary = std::move(e.target_primary);
  sink->target_via = std::move(e.target_via);
  sink->remote_via = std::move(e.remote_via);
  sink->lists = std::move(e.lists);
  std::set<std::string> remote_seen;
  for (auto& [addr, src] : e.remote) {
    if (remote_seen.insert(addr).second) {
      sink->remote.push_back(addr);
    }
  }
  if (sink->targets.empty() && sink->remote.empty()) {
    // Every recipient was a list whose members are all gone or disabled.
    co_return proto::make_reply(554, "5.5.1", "Error: no valid recipients");
  }
  if (o.spool) {
    if (!*o.spool) {
      co_return storage_reply(o.spool->error());
    }
    sink->spool_ = std::move(**o.spool);
  }
  if (!sink->remote.empty()) {
    if (!o.queue) {
      co_return proto::make_reply(451, "4.3.0", "Outbound queue unavailable");
    }
    if (!*o.queue) {
      co_return storage_reply(o.queue->error());
    }
    sink->qbody_ = std::move(**o.queue);
  }

  // Trace headers. RFC 5321 §4.4: Return-Path is added at final delivery
  // only, so the queue copy does not get it.
  const auto now = unix_now();
  const auto& tx = s.tx;
  std::string received = "Received: from " + clean_token(s.helo.empty() ? "unknown" : s.helo) + " ([" +
                         clean_token(s.info.peer_ip) + "])\r\n\tby " + st.hostname + " (homthu) with " +
                         s.protocol_name() + " id " + clean_token(s.tx.trace);
  if (s.stream.is_tls()) {
    received += "\r\n\t(using " + clean_token(s.stream.tls_version()) + " with cipher " +
                clean_token(s.stream.tls_cipher()) + ")";
  }
  if (tx.rcpts.size() == 1) {
    received += "\r\n\tfor <" + tx.rcpts.front().args.recipient.str() + ">";
  }
  received += "; " + rfc5322_date(now) + "\r\n";
  sink->queue_trace_ = received;
  if (sink->spool_) {
    sink->local_trace_ = "Return-Path: <" + tx.mail.sender.str() + ">\r\n" + received;
  }
  // RFC 8601: submission records the AUTH identity; port 25 from outside
  // gets SPF, DKIM and DMARC at the end of data; trusted networks get none.
  if (s.kind == listener_kind::mx && !s.auth && !s.trusted) {
    sink->holding_ = true;
    co_return std::move(sink);
  }
  std::string auth_results = "Authentication-Results: " + st.hostname + ";";
  if (s.auth) {
    auth_results += " auth=pass smtp.auth=" + s.auth->acct.address + "\r\n";
  } else {
    auth_results += " none\r\n";
  }
  auto* released = sink.get();
  auto write = [released, &auth_results] { return released->write_released(auth_results, {}); };
  sink->write_error_ = co_await st.svc.workers.run(write);
  if (sink->write_error_) {
    co_return storage_reply(sink->write_error_);
  }
  co_return std::move(sink);
}

asio::awaitable<void> message_sink::write(std::string_view data) {
  content_size_ += data.size();
  std::string_view content = data;  // the body passes without a copy
  if (!filter_.passthrough()) {
    filtered_.clear();
    filter_.feed(data, filtered_);
    content = filtered_;
  }
  if (head_.size() < head_capture) {
    head_.append(content.substr(0, head_capture - head_.size()));
  }
  if (write_error_) {
    co_return;
  }
  if (holding_) {
    held_.append(content);
    if (held_.size() > (overflow_ ? write_batch : hold_limit)) {
      co_await spill();
    }
    co_return;
  }
  pending_.append(content);
  if (pending_.size() >= write_batch) {
    co_await flush_pending();
  }
}

asio::awaitable<void> message_sink::spill() {
  if (held_.empty() || write_error_) {
    co_return;
  }
  auto& st = s_.st;
  const bool first = !overflow_;
  if (first) {
    overflow_ = std::make_unique<overflow_file>();
    dkim_pass_ = st.verifier->start();
  }
  auto* of = overflow_.get();
  auto* pass = dkim_pass_.get();
  const auto& dir = st.spill_dir;
  const auto& data = held_;
  auto write = [of, pass, first, &dir, &data]() -> boost::system::error_code {
    if (first && (of->fd = overflow_file::open(dir)) < 0) {
      return errno_code(errno);
    }
    pass->feed(data);  // may ask DNS for the key at the end of the header
    return of->append(data);
  };
  write_error_ = co_await st.svc.workers.run(write);
  held_.clear();
}

boost::system::error_code message_sink::write_released(const std::string& auth_results,
                                                       const std::string& held) {
  // The trace fields, then what was held: spilled to a file (overflow_), or
  // in memory (`held`; empty once spilled).
  auto* sp = spool_.get();
  auto* qb = qbody_.get();
  if (auto ec = write_both(sp, nullptr, local_trace_ + auth_results)) {
    return ec;
  }
  if (auto ec = write_both(nullptr, qb, queue_trace_ + auth_results)) {
    return ec;
  }
  if (overflow_) {
    if (auto ec = overflow_->copy_to(sp, qb)) {
      return ec;
    }
  }
  return held.empty() ? boost::system::error_code() : write_both(sp, qb, held);
}

void message_sink::end_holding() {
  holding_ = false;
  overflow_.reset();
  held_.clear();
  held_.shrink_to_fit();
}

asio::awaitable<void> message_sink::flush_pending() {
  if (pending_.empty() || write_error_) {
    pending_.clear();
    co_return;
  }
  auto* sp = spool_.get();
  auto* qb = qbody_.get();
  const auto& data = pending_;
  auto write = [sp, qb, &data]() { return write_both(sp, qb, data); };
  write_error_ = co_await s_.st.svc.workers.run(write);
  pending_.clear();
}

asio::awaitable<proto::reply> message_sink::commit() {
  auto r = co_await commit_inner();
  if (!r.positive()) {
    log_rejected_message(s_, r, find_message_id(head_), content_size_);
  }
  co_return r;
}

void message_sink::log_accepted(const std::string& message_id, const std::vector<std::size_t>& failed,
                                const std::vector<boost::system::error_code>& failed_ec, std::int64_t queue_id,
                                const proto::reply& reply) {
  auto* log = s_.st.svc.delivery_log;
  if (!log) {
    return;
  }
  std::vector<storage::delivery_event> events;
  auto event = [&](std::string_view kind, const std::string& recipient) -> storage::delivery_event& {
    auto e = session_event(s_, kind);
    e.message_id = message_id;
    e.recipient = recipient;
    e.size = content_size_;
    events.push_back(std::move(e));
    return events.back();
  };
  const auto accepted = reply_line(reply);
  for (const auto& r : s_.tx.rcpts) {
    auto& e = event(storage::delivery_kind::received, r.address);
    e.reply = accepted;
    if (s_.stream.is_tls()) {
      e.detail = s_.stream.tls_version();
    }
  }
  for (const auto& l : lists) {
    auto& e = event(storage::delivery_kind::expanded, l.address);
    e.via = l.via;
    e.detail = std::to_string(l.members) + " members";
  }
  for (std::size_t i = 0; i < targets.size() && i < target_primary.size(); ++i) {
    const auto f = std::find(failed.begin(), failed.end(), i);
    if (f == failed.end()) {
      auto& e = event(storage::delivery_kind::delivered, target_primary[i]);
      e.via = target_via[i];
      e.detail = "INBOX";
      continue;
    }
    const auto& ec = failed_ec[static_cast<std::size_t>(f - failed.begin())];
    auto& e = event(storage::delivery_kind::bounced, target_primary[i]);
    e.via = target_via[i];
    e.reply = ec.message();
    e.detail = std::string(ec == storage::error::over_quota ? "5.2.2" : "5.3.0") +
               (s_.tx.mail.sender.empty() ? "; no DSN (null sender)" : "; DSN to " + s_.tx.mail.sender.canonical());
  }
  for (const auto& addr : remote) {
    auto& e = event(storage::delivery_kind::queued, addr);
    e.queue_id = queue_id;
    if (auto it = remote_via.find(addr); it != remote_via.end()) {
      e.via = it->second;
    }
  }
  log->record(std::move(events));
}

asio::awaitable<proto::reply> message_sink::commit_inner() {
  filtered_.clear();
  filter_.finish(filtered_);
  (holding_ ? held_ : pending_).append(filtered_);
  auto& st = s_.st;
  const auto& tx = s_.tx;
  const auto facts = scan_headers(head_);
  if (facts.received >= max_hops) {
    co_return proto::make_reply(554, "5.4.6", "Too many hops (mail loop?)");
  }
  std::uint64_t trace_size = 0;  // what the store holds before the content parse_ saw
  if (holding_) {
    // RFC 8601 iprev, RFC 7208 / 6376 / 7489 checks: DNS, on the worker
    // pool, in one job (each hop to the pool and back costs two thread
    // wake-ups).
    if (overflow_) {
      co_await spill();  // the rest of the content
      if (write_error_) {
        co_return storage_reply(write_error_);
      }
    }
    std::set<std::string> from_domains;
    for (const auto& f : facts.from) {
      if (auto parts = common::split_address(f)) {
        from_domains.insert(common::to_lower_ascii(parts->domain));
      }
    }
    struct verdicts {
      auth::iprev_result iprev;
      auth::spf_result spf;
      auth::dkim_verdict dkim;
      auth::dmarc_result dmarc;
      bool reject = false;               // DMARC p=reject, enforced
      std::string auth_results;
      boost::system::error_code write_error;
    };
    auto* pass = dkim_pass_.get();  // set when the content overflowed to a file
    // Content held in memory is parsed for the store on another pool thread
    // while the checks run and the content goes to the spool; the delivery
    // job takes the parse (or makes it, if no thread has started it yet).
    const auto content = std::make_shared<const std::string>(std::move(held_));
    held_.clear();
    if (!overflow_ && spool_) {
      parse_ = std::make_shared<parse_job>(content);
      asio::post(st.svc.workers.executor(), [job = parse_] { job->run(); });
    }
    const auto& held = *content;
    const auto& ip = s_.info.peer_ip;
    const auto& helo = s_.helo;
    const auto sender = s_.tx.mail.sender.str();
    const auto known_iprev = s_.iprev;
    const auto enforce = st.svc.cfg.smtp.enforce_dmarc;
    auto* sink = this;
    // The checks, then the trace fields with their results and the content
    // into the spool and the queue body, in the same job.
    auto check_all = [&st, pass, &held, &ip, &helo, &sender, &from_domains, &known_iprev, enforce, sink]() {
      verdicts v;
      v.iprev = known_iprev ? *known_iprev : auth::check_iprev(*st.dns, ip);
      v.spf = auth::check_spf(*st.dns, ip, helo, sender);
      v.dkim = pass ? pass->finish() : st.verifier->verify(held);
      // Every From: domain is checked; the first that does not pass is the
      // one reported (RFC 7489 §6.6.1 leaves several authors to us).
      bool first = true;
      for (const auto& d : from_domains) {
        auto r = auth::check_dmarc(*st.dns, *st.psl, d, v.spf, v.dkim);
        if (first || (v.dmarc.result == "pass" && r.result != "pass") ||
            (r.result == "fail" && v.dmarc.result != "fail")) {
          v.dmarc = r;
          first = false;
        }
      }
      // RFC 7489 §6.6.4 / §10.3: reject during the SMTP transaction.
      v.reject = enforce && v.dmarc.result == "fail" && v.dmarc.policy == "reject" && v.dmarc.sampled;
      if (!v.reject) {
        v.auth_results = auth::authentication_results(st.hostname, v.spf, v.dkim, v.dmarc, &v.iprev);
        v.write_error = sink->write_released(v.auth_results, held);
      }
      return v;
    };
    const auto v = co_await st.svc.workers.run(check_all);
    end_holding();
    if (!s_.iprev) {
      s_.iprev = v.iprev;  // the connection's next messages reuse it
    }
    s_.log.info("smtp.auth_results", {{"iprev", v.iprev.result}, {"spf", v.spf.result}, {"dkim", v.dkim.signatures.empty() ? std::string("none") : v.dkim.signatures.front().result},
                                      {"dmarc", v.dmarc.result}, {"from_domain", v.dmarc.from_domain}});
    if (v.reject) {
      if (parse_) {
        parse_->cancel();
      }
      co_return proto::make_reply(550, "5.7.1", "Rejected by the DMARC policy of " + v.dmarc.from_domain);
    }
    write_error_ = v.write_error;
    trace_size = local_trace_.size() + v.auth_results.size();
  }
  co_await flush_pending();
  if (write_error_) {
    co_return storage_reply(write_error_);
  }
  if (s_.auth && facts.from_present) {
    for (const auto& f : facts.from) {
      if (!sender_owned(s_, f)) {
        s_.log.info("smtp.from_mismatch", {{"user", s_.auth->acct.id}, {"from", f}});
        co_return proto::make_reply(550, "5.7.1", "From: header address not owned by user " + s_.auth->acct.address);
      }
    }
  }
  const auto now = unix_now();
  const auto& id = tx.trace;
  std::int64_t queue_id = 0;
  std::vector<std::size_t> failed;
  std::vector<boost::system::error_code> failed_ec;
  if (spool_) {
    auto& store = st.svc.store;
    auto* sp = spool_.get();
    auto& targets = this->targets;
    struct local_result {
      boost::system::error_code ec;
      std::vector<storage::delivery_outcome> outcomes;
    };
    auto* job = parse_.get();
    auto res = co_await st.svc.workers.run([sp, &store, &targets, now, job, trace_size]() {
      local_result r;
      auto blob = sp->finish();
      if (!blob) {
        r.ec = blob.error();
        return r;
      }
      storage::parsed_ahead ahead;
      if (job) {
        ahead.parsed = job->take();
        ahead.prefix = trace_size;
      }
      r.outcomes = store.deliver(*blob, targets, now, &ahead);
      return r;
    });
    if (res.ec) {
      co_return storage_reply(res.ec);
    }
    std::size_t ok = 0;
    bool all_quota = true;
    bool exceeds_every_quota = true;
    for (std::size_t i = 0; i < res.outcomes.size() && i < targets.size(); ++i) {
      const auto& o = res.outcomes[i];
      if (!o.ec) {
        ++ok;
        continue;
      }
      failed.push_back(i);
      failed_ec.push_back(o.ec);
      if (o.ec != storage::error::over_quota) {
        all_quota = false;
      }
      if (targets[i].quota_bytes == 0 || content_size_ <= targets[i].quota_bytes) {
        exceeds_every_quota = false;
      }
    }
    if (ok == 0 && !failed.empty()) {
      s_.log.warn("smtp.local_delivery_failed", {{"error", failed_ec.front().message()}});
      if (all_quota) {
        co_return exceeds_every_quota
            ? proto::make_reply(552, "5.2.2", "Message exceeds the recipient's mailbox quota")
            : proto::make_reply(452, "4.2.2", "Mailbox full, try again later");
      }
      for (const auto& ec : failed_ec) {
        if (storage::is_temporary(ec)) {
          co_return storage_reply(ec);
        }
      }
      co_return proto::make_reply(554, "5.3.0", "Delivery failed", failed_ec.front().message());
    }
  }
  if (qbody_) {
    storage::queue_message msg;
    msg.sender = tx.mail.sender.str();
    msg.envid = tx.mail.envid;
    msg.ret_full = tx.mail.ret != proto::dsn_ret::headers;
    msg.smtputf8 = tx.mail.smtputf8;
    msg.eight_bit = tx.mail.body == proto::body_type::eight_bit_mime || tx.mail.body == proto::body_type::binary_mime;
    msg.binary = tx.mail.body == proto::body_type::binary_mime;
    msg.submitter = s_.auth ? s_.auth->acct.id : std::string{};
    msg.received_from = s_.info.peer_ip;
    msg.created = now;
    for (const auto& addr : remote) {
      storage::queue_recipient r;
      r.address = addr;
      r.next_attempt = now;
      for (const auto& a : tx.rcpts) {
        if (a.address == addr) {
          r.orcpt = a.args.orcpt;
          const auto& n = a.args.notify;
          r.notify = n.never ? static_cast<std::uint8_t>(storage::notify_never)
                             : static_cast<std::uint8_t>((n.success ? storage::notify_success : 0) |
                                                         (n.failure ? storage::notify_failure : 0) |
                                                         (n.delay ? storage::notify_delay : 0));
        }
      }
      msg.recipients.push_back(std::move(r));
    }
    auto& q = *st.queue;
    auto body = std::move(qbody_);
    auto c = co_await st.svc.workers.run([&q, &body, &msg]() { return q.commit(std::move(body), msg); });
    if (!c) {
      // Local copies (if any) are already delivered; the client's retry may
      // duplicate them, which RFC 5321 §6.1 prefers to a loss.
      s_.log.error("smtp.queue_failed", {{"error", c.error().message()}});
      co_return storage_reply(c.error());
    }
    queue_id = *c;
    st.wake();
  }
  if (!failed.empty()) {
    // Some local recipients failed after others succeeded: the 250 covers the
    // message, so the failures become a DSN to the sender (RFC 3461 §6).
    dsn_input d;
    d.reporting_mta = st.hostname;
    d.sender = tx.mail.sender.canonical();
    d.envid = tx.mail.envid;
    d.received_from = s_.info.peer_ip;
    d.arrival = now;
    for (std::size_t k = 0; k < failed.size(); ++k) {
      const auto over = failed_ec[k] == storage::error::over_quota;
      d.recipients.push_back({target_addresses[failed[k]], "", "failed", over ? "5.2.2" : "5.3.0",
                              std::string("x-homthu; ") + failed_ec[k].message(), ""});
    }
    d.original = header_block(head_);
    d.headers_only = true;
    if (!tx.mail.sender.empty()) {
      const auto msg = make_dsn(d, now);
      auto ec = co_await st.svc.workers.run([&st, &d, &msg]() { return send_notice(st, d.sender, msg); });
      if (ec) {
        s_.log.warn("smtp.dsn_failed", {{"error", ec.message()}});
      }
    }
  }
  s_.log.info("smtp.accepted", {{"id", id}, {"from", tx.mail.sender.str()}, {"rcpts", tx.rcpts.size()},
                                {"size", content_size_}, {"local", targets.size() - failed.size()},
                                {"remote", remote.size()}});
  auto ok = proto::make_reply(250, "2.0.0", "Ok: queued as " + id);
  log_accepted(find_message_id(head_), failed, failed_ec, queue_id, ok);
  co_return ok;
}

}  // namespace homthu::smtp::detail
