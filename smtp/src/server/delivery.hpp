#pragma once
// The end of a transaction: where the message goes. A sink is opened when
// DATA/BDAT starts (recipients expanded, store spool and/or queue body
// opened, trace headers written), takes the content as it arrives, and
// commits: local deliveries first, then the outbound queue record, and only
// then the 250 (DESIGN.md durability rule). Destroying an uncommitted sink
// removes the spooled copies.

#include "session.hpp"
#include "../auth/checks.hpp"
#include "../auth/dkim.hpp"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::smtp::detail {

class message_sink {
 public:
  ~message_sink();
  // Errors: 451 4.4.3 (directory unavailable), 451 4.3.0 / 452 4.3.1 (storage).
  static asio::awaitable<proto::result<std::unique_ptr<message_sink>>> open(session& s);

  // Buffers and writes through the worker pool in large pieces. After the
  // first error every later write is a no-op and commit() reports it.
  asio::awaitable<void> write(std::string_view data);
  std::uint64_t content_size() const { return content_size_; }
  // Flushes, delivers, queues; returns the final reply for DATA / BDAT LAST.
  asio::awaitable<proto::reply> commit();

  std::vector<storage::delivery_target> targets;   // local mailboxes, one per account
  std::vector<std::string> target_addresses;       // the address that reached each target
  std::vector<std::string> target_primary;         // each target's own address (for the delivery log)
  std::vector<std::string> target_via;             // the list or alias that reached it; empty: direct
  std::vector<std::string> remote;                 // outbound recipients, canonical
  std::map<std::string, std::string> remote_via;   // outbound recipient → list/account that sent it there
  struct expanded_list {
    std::string address;
    std::size_t members = 0;
    std::string via;                               // the enclosing list when nested
  };
  std::vector<expanded_list> lists;                // lists expanded, for the delivery log

 private:
  explicit message_sink(session& s);
  asio::awaitable<proto::reply> commit_inner();
  // The delivery-log rows of an accepted message (received, expanded,
  // delivered, bounced, queued).
  void log_accepted(const std::string& message_id, const std::vector<std::size_t>& failed,
                    const std::vector<boost::system::error_code>& failed_ec, std::int64_t queue_id,
                    const proto::reply& reply);
  asio::awaitable<void> flush_pending();
  // Writes the trace fields (with `auth_results`) and the held content to
  // the spool and the queue body. Blocking: on the worker pool.
  boost::system::error_code write_released(const std::string& auth_results, const std::string& held);
  // Drops what was held once it has been written (or refused).
  void end_holding();
  session& s_;
  std::unique_ptr<storage::spool> spool_;
  std::unique_ptr<storage::queue_writer> qbody_;
  std::string pending_;
  std::string head_;              // the first bytes of the content, for header checks
  // Spills held content past hold_limit to `overflow_` and feeds it to the
  // DKIM pass (worker pool).
  asio::awaitable<void> spill();
  // Inbound mail on port 25 is held until its end so that the SPF/DKIM/DMARC
  // results can go in front of it: in memory up to hold_limit, then in an
  // unlinked file next to the queue while DKIM is computed as it streams;
  // write_released() copies it behind the trace fields.
  bool holding_ = false;
  std::string held_;
  struct overflow_file;
  std::unique_ptr<overflow_file> overflow_;
  std::unique_ptr<auth::dkim_verifier::pass> dkim_pass_;
  // The parse of held content, started on the worker pool when the checks
  // start, and taken by the delivery job (storage::parse_ahead).
  class parse_job;
  std::shared_ptr<parse_job> parse_;
  std::string local_trace_;       // Return-Path + Received for local copies
  std::string queue_trace_;       // Received for the queue copy
  auth::results_filter filter_;
  std::string filtered_;
  std::uint64_t content_size_ = 0;
  boost::system::error_code write_error_;
};

// RFC 5322 §3.3 date-time of `t` in UTC: "Tue, 03 Mar 2026 10:04:05 +0000".
std::string rfc5322_date(std::int64_t t);
std::int64_t unix_now();

// Header checks on the start of a message (whatever of the header block fits).
struct header_facts {
  unsigned received = 0;                 // Received: fields (hop count, RFC 5321 §6.3)
  std::vector<std::string> from;         // addr-specs in From:, canonical
  bool from_present = false;
  bool header_complete = false;          // the blank line was seen
};
header_facts scan_headers(std::string_view head);

}  // namespace homthu::smtp::detail
