// Delivery-log helpers for the session layer (see events.hpp). Input:
// values the session already validated (canonical addresses, our own
// transaction ids); the Message-ID comes from the untrusted header and is
// stored as text only, trimmed to one line of at most 998 octets.
#include "events.hpp"

namespace homthu::smtp::detail {

std::string reply_line(const proto::reply& r) {
  std::string out = std::to_string(r.code);
  if (!r.enhanced.empty()) {
    out += " " + r.enhanced;
  }
  out += " ";
  for (char c : r.text) {
    out.push_back(c == '\n' || c == '\r' ? ' ' : c);
  }
  return out;
}

std::string find_message_id(std::string_view head) {
  std::size_t pos = 0;
  std::string value;
  bool in_field = false;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      break;
    }
    auto line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) {
      break;
    }
    if (line.front() == ' ' || line.front() == '\t') {
      if (in_field) {
        value += line;
      }
      continue;
    }
    if (in_field) {
      break;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos && common::to_lower_ascii(line.substr(0, colon)) == "message-id") {
      in_field = true;
      value = std::string(line.substr(colon + 1));
    }
  }
  std::string out;
  for (char c : value) {
    if (c != ' ' && c != '\t' && c != '<' && c != '>' && static_cast<unsigned char>(c) >= 0x20) {
      out.push_back(c);
    }
  }
  if (out.size() > 998) {
    out.resize(998);
  }
  return out;
}

storage::delivery_event session_event(const session& s, std::string_view kind) {
  storage::delivery_event e;
  e.kind = std::string(kind);
  e.trace = s.tx.trace;
  e.sender = s.tx.mail.sender.canonical();
  e.client = s.info.peer_ip;
  e.user = s.auth ? s.auth->acct.id : std::string{};
  e.listener = s.info.listener;
  return e;
}

void log_rejected_rcpt(const session& s, const std::string& recipient, const proto::reply& r) {
  auto* log = s.st.svc.delivery_log;
  if (!log || s.tx.trace.empty()) {
    return;
  }
  auto e = session_event(s, storage::delivery_kind::rejected);
  e.recipient = recipient;
  e.reply = reply_line(r);
  e.detail = "RCPT";
  log->record(std::move(e));
}

void log_rejected_message(const session& s, const proto::reply& r, std::string_view message_id, std::uint64_t size) {
  auto* log = s.st.svc.delivery_log;
  if (!log || s.tx.trace.empty() || s.tx.rcpts.empty()) {
    return;
  }
  std::vector<storage::delivery_event> events;
  for (const auto& rc : s.tx.rcpts) {
    auto e = session_event(s, storage::delivery_kind::rejected);
    e.recipient = rc.address;
    e.message_id = std::string(message_id);
    e.reply = reply_line(r);
    e.size = size;
    e.detail = "DATA";
    events.push_back(std::move(e));
  }
  log->record(std::move(events));
}

}  // namespace homthu::smtp::detail
