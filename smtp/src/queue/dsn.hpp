#pragma once
// Delivery status notifications (RFC 3464, RFC 3461, RFC 6522): the
// message, and handing it to the sender — into their mailbox when local,
// into the outbound queue with a null reverse-path otherwise (RFC 5321
// §4.5.5: a DSN is never sent about a DSN, so `<>` senders get none).

#include "../server/state.hpp"

#include <boost/system/error_code.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace homthu::smtp::detail {

struct dsn_recipient {
  std::string address;
  std::string orcpt;           // "rfc822;addr" or empty
  std::string action;          // "failed", "delayed", "delivered"
  std::string status;          // "5.1.1"
  std::string diagnostic;      // "smtp; 550 5.1.1 no such user"
  std::string remote_mta;      // "dns; mx.example.org" or empty
};

struct dsn_input {
  std::string reporting_mta;   // our hostname
  std::string sender;          // whom the notice goes to
  std::string envid;
  std::string received_from;   // peer IP the message came from
  std::int64_t arrival = 0;
  std::vector<dsn_recipient> recipients;
  std::string original;        // the original message, or only its header when RET=HDRS
  bool headers_only = false;
};

std::string make_dsn(const dsn_input& in, std::int64_t now);
// The original message's header block (up to the blank line).
std::string header_block(std::string_view message);

// Blocking: run it on the worker pool. Delivers `message` (CRLF line ends) to
// `to`: local accounts through the store, others through the queue with
// sender <>. Returns an error only for temporary failures worth logging.
boost::system::error_code send_notice(server_state& st, const std::string& to, std::string_view message);

}  // namespace homthu::smtp::detail
