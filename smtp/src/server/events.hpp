#pragma once
// Delivery-log events written where each hop happens (storage/delivery_log.hpp).
// Recording only appends to the log's in-memory batch, so these helpers are
// safe on I/O threads and never delay a reply. With no log configured
// (services::delivery_log null) they do nothing.

#include "session.hpp"

#include "homthu/storage/delivery_log.hpp"

#include <string>
#include <string_view>

namespace homthu::smtp::detail {

// "550 5.1.1 <x>: User unknown" on one line.
std::string reply_line(const proto::reply& r);
// The Message-ID field of a header block, without <>; empty when absent.
std::string find_message_id(std::string_view head);
// An event of the session's current transaction, with the client's facts.
storage::delivery_event session_event(const session& s, std::string_view kind);
// RCPT refused for `recipient` inside a transaction.
void log_rejected_rcpt(const session& s, const std::string& recipient, const proto::reply& r);
// The message refused (end of DATA/BDAT or before it): one row per accepted recipient.
void log_rejected_message(const session& s, const proto::reply& r, std::string_view message_id = {},
                          std::uint64_t size = 0);

}  // namespace homthu::smtp::detail
