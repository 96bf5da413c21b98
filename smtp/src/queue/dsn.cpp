// DSN construction (RFC 3464 message/delivery-status inside RFC 6522
// multipart/report) and hand-off to the sender. Input: queue records and
// replies from remote servers (untrusted text: control characters are
// stripped before they enter a header or a status field).
#include "dsn.hpp"

#include "../server/delivery.hpp"
#include "homthu/common/address.hpp"

#include <random>

namespace homthu::smtp::detail {
namespace {

std::string one_line(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : static_cast<char>(c));
  }
  return out;
}

std::string boundary() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return "=_homthu_" + std::to_string(rng());
}

}  // namespace

std::string header_block(std::string_view message) {
  const auto end = message.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    return std::string(message);
  }
  return std::string(message.substr(0, end + 2));
}

std::string make_dsn(const dsn_input& in, std::int64_t now) {
  const auto b = boundary();
  bool any_failed = false;
  for (const auto& r : in.recipients) {
    any_failed = any_failed || r.action == "failed";
  }
  std::string m;
  m += "From: Mail Delivery System <MAILER-DAEMON@" + in.reporting_mta + ">\r\n";
  m += "To: <" + one_line(in.sender) + ">\r\n";
  m += std::string("Subject: ") +
       (any_failed ? "Undelivered Mail Returned to Sender" : "Delayed Mail (still being retried)") + "\r\n";
  m += "Date: " + rfc5322_date(now) + "\r\n";
  m += "Message-ID: <" + b.substr(2) + "@" + in.reporting_mta + ">\r\n";
  m += "Auto-Submitted: auto-replied\r\n";  // RFC 3834 §5
  m += "MIME-Version: 1.0\r\n";
  m += "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"" + b + "\"\r\n\r\n";
  m += "--" + b + "\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n";
  if (any_failed) {
    m += "This is the mail system at " + in.reporting_mta +
         ".\r\n\r\nYour message could not be delivered to one or more recipients.\r\n"
         "Thư của bạn không gửi được tới một hoặc nhiều người nhận.\r\n\r\n";
  } else {
    m += "This is the mail system at " + in.reporting_mta +
         ".\r\n\r\nYour message has not been delivered yet; delivery will be retried.\r\n"
         "Thư của bạn chưa được gửi đi; hệ thống sẽ tiếp tục thử lại.\r\n\r\n";
  }
  for (const auto& r : in.recipients) {
    m += "<" + one_line(r.address) + ">: " + one_line(r.diagnostic) + "\r\n";
  }
  m += "\r\n--" + b + "\r\nContent-Type: message/delivery-status\r\n\r\n";
  // RFC 3464 §2.2: per-message fields.
  m += "Reporting-MTA: dns; " + in.reporting_mta + "\r\n";
  if (!in.envid.empty()) {
    m += "Original-Envelope-Id: " + one_line(in.envid) + "\r\n";
  }
  if (!in.received_from.empty()) {
    m += "Received-From-MTA: dns; [" + one_line(in.received_from) + "]\r\n";
  }
  if (in.arrival != 0) {
    m += "Arrival-Date: " + rfc5322_date(in.arrival) + "\r\n";
  }
  // RFC 3464 §2.3: per-recipient fields.
  for (const auto& r : in.recipients) {
    m += "\r\n";
    if (!r.orcpt.empty()) {
      m += "Original-Recipient: " + one_line(r.orcpt) + "\r\n";
    }
    m += "Final-Recipient: rfc822; " + one_line(r.address) + "\r\n";
    m += "Action: " + r.action + "\r\n";
    m += "Status: " + r.status + "\r\n";
    if (!r.remote_mta.empty()) {
      m += "Remote-MTA: " + one_line(r.remote_mta) + "\r\n";
    }
    if (!r.diagnostic.empty()) {
      m += "Diagnostic-Code: " + one_line(r.diagnostic) + "\r\n";
    }
    m += "Last-Attempt-Date: " + rfc5322_date(now) + "\r\n";
  }
  m += "\r\n--" + b + "\r\n";
  m += in.headers_only ? "Content-Type: text/rfc822-headers\r\n\r\n" : "Content-Type: message/rfc822\r\n\r\n";
  std::string original = in.original;
  if (!original.empty() && original.size() >= 2 && original.substr(original.size() - 2) != "\r\n") {
    original += "\r\n";
  }
  m += original;
  m += "\r\n--" + b + "--\r\n";
  return m;
}

boost::system::error_code send_notice(server_state& st, const std::string& to, std::string_view message) {
  const auto parts = common::split_address(to);
  if (!parts) {
    return {};
  }
  const auto now = unix_now();
  if (st.is_local_domain(parts->domain)) {
    auto r = st.svc.dir.resolve(to);
    if (!r) {
      return r.error() == directory::error::unavailable ? boost::system::error_code(r.error())
                                                        : boost::system::error_code{};
    }
    if (r->type != directory::recipient::kind::account) {
      return {};  // notices to lists are dropped rather than fanned out
    }
    auto sp = st.svc.store.begin_spool();
    if (!sp) {
      return sp.error();
    }
    const std::string rp = "Return-Path: <>\r\n";
    if (auto w = (*sp)->write(rp); !w) {
      return w.error();
    }
    if (auto w = (*sp)->write(message); !w) {
      return w.error();
    }
    auto blob = (*sp)->finish();
    if (!blob) {
      return blob.error();
    }
    storage::delivery_target t;
    t.account = r->acct.id;
    // A notice is small and must reach its owner even at the quota edge.
    std::vector<storage::delivery_target> targets{t};
    auto out = st.svc.store.deliver(*blob, targets, now);
    return out.empty() ? boost::system::error_code{} : out.front().ec;
  }
  if (!st.queue) {
    return {};
  }
  auto w = st.queue->begin();
  if (!w) {
    return w.error();
  }
  if (auto r = (*w)->write(message); !r) {
    return r.error();
  }
  storage::queue_message msg;
  msg.sender = "";  // RFC 5321 §4.5.5: notices go out with a null reverse-path
  msg.created = now;
  storage::queue_recipient rc;
  rc.address = to;
  rc.next_attempt = now;
  msg.recipients.push_back(rc);
  auto c = st.queue->commit(std::move(*w), msg);
  if (!c) {
    return c.error();
  }
  st.wake();
  return {};
}

}  // namespace homthu::smtp::detail
