#pragma once
// The delivery log: one row per hop of a message ("where did my mail go"),
// written by smtp/ where each hop happens and read by the admin console
// (search, mail-flow charts) and, later, homthuctl.
//
// Layout: delivery.db (SQLite, WAL) under the store root, a file of its own
// so that logging never competes with mail.db's group commit. record() only
// appends to an in-memory batch and returns; a background thread commits
// batches (one transaction, one WAL fsync per batch, at most every
// commit_interval), so SMTP never waits on it. A crash can lose the events of
// the last interval, never the mail: the log is a record of what happened, the
// queue and mail store are what is durable. Rows older than the retention are
// deleted by the same thread once an hour, in small transactions.
// Thread-safe; search() and flow() block on SQLite, so callers use the
// worker pool.

#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::storage {

// What happened at one hop, as stored in `kind`.
namespace delivery_kind {
inline constexpr std::string_view received = "received";    // accepted from a client (one row per envelope recipient)
inline constexpr std::string_view expanded = "expanded";    // a list handed the message to its members
inline constexpr std::string_view delivered = "delivered";  // stored in a local mailbox
inline constexpr std::string_view queued = "queued";        // in the outbound queue for a remote recipient
inline constexpr std::string_view relayed = "relayed";      // accepted by the remote server
inline constexpr std::string_view deferred = "deferred";    // temporary failure, will be retried
inline constexpr std::string_view bounced = "bounced";      // failed for good, DSN to the sender
inline constexpr std::string_view rejected = "rejected";    // refused at RCPT or at the end of DATA
}  // namespace delivery_kind

struct delivery_event {
  std::int64_t id = 0;               // assigned when committed; increases with time
  std::int64_t time_ms = 0;          // Unix milliseconds
  std::string trace;                 // our transaction id ("queued as …"); empty with queue_id:
                                     // taken from the message's "queued" row when committed
  std::int64_t queue_id = 0;         // outbound queue id (queued, relayed, deferred, bounced)
  std::string kind;                  // one of delivery_kind
  std::string message_id;            // Message-ID without <>, may be empty
  std::string sender;                // reverse-path, lower case; empty for <>
  std::string recipient;             // the address this hop is about, lower case
  std::string via;                   // list or alias the recipient was reached through
  std::string client;                // received/rejected: client IP
  std::string user;                  // received/rejected: authenticated account id
  std::string listener;              // received/rejected: smtp, submission, smtps
  std::string remote;                // relayed/deferred/bounced: the remote host
  std::string reply;                 // the reply or error, one line
  std::int64_t next_attempt_ms = 0;  // deferred: when the next attempt is due
  std::uint64_t size = 0;            // message octets, when known
  std::string detail;                // free text: member count, DSN status and where it went
};

struct delivery_query {
  // Exact, case-insensitive; empty: any. message_id with or without <>.
  std::string sender;
  std::string recipient;
  std::string message_id;
  std::string trace;
  std::int64_t since_ms = 0;         // inclusive; 0: no bound
  std::int64_t until_ms = 0;         // exclusive; 0: no bound
  std::size_t limit = 50;            // messages per page, at most 200
  std::int64_t cursor = 0;           // next_cursor of the previous page; 0: newest first
  // Rows the caller may see (null: all). Hidden rows neither match nor show.
  std::function<bool(const delivery_event&)> visible;
};

// One message: every visible row of its trace, oldest first.
struct delivery_message {
  std::string trace;
  std::vector<delivery_event> events;
  std::size_t omitted = 0;                 // rows beyond the per-message cap (1,000)
};

struct delivery_page {
  std::vector<delivery_message> messages;  // newest first (by their latest matching row)
  std::int64_t next_cursor = 0;            // 0: no more
};

// Counts per time bucket: messages received (distinct transactions),
// recipients delivered locally, relayed, deferred (attempts), bounced, rejected.
struct flow_bucket {
  std::int64_t start_ms = 0;
  std::uint64_t received = 0, delivered = 0, relayed = 0, deferred = 0, bounced = 0, rejected = 0;
};

struct delivery_log_options {
  std::string path;                                  // the database file; created when absent
  std::chrono::hours retention{30 * 24};
  bool fsync = true;
  std::chrono::milliseconds commit_interval{100};    // longest an event waits for its batch
  std::size_t max_pending = 100000;                  // beyond this (disk stuck) events are dropped and counted
};

class delivery_log {
 public:
  virtual ~delivery_log() = default;

  // Never blocks on disk. time_ms 0 is set to now.
  virtual void record(delivery_event e) = 0;
  virtual void record(std::vector<delivery_event> events) = 0;
  // Waits until everything recorded before the call is committed.
  virtual void flush() = 0;

  virtual boost::system::result<delivery_page> search(const delivery_query& q) = 0;
  // `buckets` buckets of `bucket_ms` starting at `origin_ms`; `visible` as in
  // delivery_query.
  virtual boost::system::result<std::vector<flow_bucket>> flow(
      std::int64_t origin_ms, std::int64_t bucket_ms, std::size_t buckets,
      const std::function<bool(const delivery_event&)>& visible = nullptr) = 0;
  // Deletes rows older than `before_ms`; returns how many.
  virtual boost::system::result<std::size_t> prune(std::int64_t before_ms) = 0;
  // Events dropped because the writer could not keep up (see max_pending).
  virtual std::uint64_t dropped() const = 0;
};

// Opens (creating when absent) and starts the writer thread. Throws
// std::runtime_error naming the path.
std::unique_ptr<delivery_log> open_delivery_log(const delivery_log_options& opts);
// <store root>/delivery.db.
std::string default_delivery_log_path(const std::string& storage_path);

}  // namespace homthu::storage
