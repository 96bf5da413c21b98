#pragma once
// The outbound queue's durable records: messages accepted for remote
// recipients, kept until every recipient is delivered or has failed for
// good. smtp/ owns the workers that empty it; homthuctl and the admin
// console list, retry and delete entries through this interface only.
//
// Layout under the queue root: queue.db (SQLite, WAL, synchronous=FULL) and
// msg/<name> (one body file per message, written to tmp/ first). commit()
// returns only after the body is fsync'd, renamed into msg/, msg/ fsync'd and
// the rows committed, so a 250 after commit() survives a crash; a body
// without its row (crash between rename and commit) is removed at open.
// Thread-safe; every call may block, so protocol code runs it on the worker
// pool.

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::storage {

enum class recipient_state { pending, delivered, failed };

// RFC 3461 NOTIFY bits.
enum notify_bits : std::uint8_t {
  notify_default = 0,   // not specified: failure (and delay) notices
  notify_never = 1,
  notify_success = 2,
  notify_failure = 4,
  notify_delay = 8,
};

struct queue_recipient {
  std::int64_t id = 0;
  std::string address;               // as given in RCPT TO (without <>)
  std::string orcpt;                 // RFC 3461 ORCPT, "rfc822;addr", may be empty
  std::uint8_t notify = notify_default;
  recipient_state state = recipient_state::pending;
  std::uint32_t attempts = 0;
  std::int64_t next_attempt = 0;     // unix seconds
  std::int64_t last_attempt = 0;
  std::string last_reply;            // the remote's last reply (or our own error), one line
  std::string remote_mta;            // host that gave it
};

struct queue_message {
  std::int64_t id = 0;
  std::string sender;                // reverse-path without <>; empty for <>
  std::string envid;                 // RFC 3461 ENVID, decoded
  bool ret_full = true;              // RET=FULL (default) or HDRS
  bool smtputf8 = false;
  bool eight_bit = false;            // BODY=8BITMIME (or BINARYMIME)
  bool binary = false;               // BODY=BINARYMIME (RFC 3030): only relayed by BDAT
  std::string submitter;             // directory account id that submitted it, may be empty
  std::string received_from;         // peer IP, for the DSN
  std::int64_t created = 0;          // unix seconds
  std::uint64_t size = 0;            // body octets
  bool delay_notified = false;
  std::vector<queue_recipient> recipients;
};

// A body being written before commit. Destroying it uncommitted removes the
// temporary file.
class queue_writer {
 public:
  virtual ~queue_writer() = default;
  virtual boost::system::result<void> write(std::string_view chunk) = 0;
  virtual std::uint64_t size() const = 0;
};

struct queue_options {
  std::string path;                  // queue root directory; created when absent
  bool fsync = true;
};

class outbound_queue {
 public:
  virtual ~outbound_queue() = default;

  virtual boost::system::result<std::unique_ptr<queue_writer>> begin() = 0;
  // Durable on return; fills ids of the message and its recipients. The
  // writer is consumed. `msg.size` is taken from the writer.
  virtual boost::system::result<std::int64_t> commit(std::unique_ptr<queue_writer> body,
                                                     queue_message& msg) = 0;

  // Every message, oldest first (recipients included).
  virtual boost::system::result<std::vector<queue_message>> list() = 0;
  virtual boost::system::result<queue_message> get(std::int64_t id) = 0;
  // Messages with at least one pending recipient due at `now`, oldest first.
  virtual boost::system::result<std::vector<queue_message>> due(std::int64_t now, std::size_t limit) = 0;
  // Seconds until the earliest pending attempt (0 if one is due; nullopt if none).
  virtual std::optional<std::int64_t> next_due(std::int64_t now) = 0;
  virtual boost::system::result<std::string> read_body(std::int64_t id) = 0;
  // The header block (up to and including the blank line, or the first
  // `max_bytes` when it is longer), without reading the rest of the body.
  virtual boost::system::result<std::string> read_headers(std::int64_t id, std::size_t max_bytes) = 0;

  // The outcome of one delivery attempt for one recipient.
  virtual boost::system::result<void> record_attempt(std::int64_t recipient_id, recipient_state state,
                                                     std::int64_t now, std::int64_t next_attempt,
                                                     std::string_view reply,
                                                     std::string_view remote_mta) = 0;
  virtual boost::system::result<void> set_delay_notified(std::int64_t id) = 0;
  // Makes every pending recipient of the message due now.
  virtual boost::system::result<void> retry(std::int64_t id) = 0;
  virtual boost::system::result<void> retry_all() = 0;
  // Removes the message, its recipients and its body.
  virtual boost::system::result<void> remove(std::int64_t id) = 0;
};

// Opens (creating when absent). Throws std::runtime_error naming the path.
std::unique_ptr<outbound_queue> open_queue(const queue_options& opts);
// <store root>/queue, where the store root is storage.path or
// <data_dir>/mail: the daemon and homthuctl both use this.
std::string default_queue_path(const std::string& storage_path, const std::string& data_dir);

}  // namespace homthu::storage
