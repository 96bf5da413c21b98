// APPEND (RFC 9051 §6.3.12) with MULTIAPPEND (RFC 3502), LITERAL+ (RFC
// 7888), BINARY literal8 (RFC 3516 §4.4) and the UTF8 form (RFC 6855 §4).
// The message literal is streamed chunk by chunk into a storage spool and
// never held in memory; an over-large literal is refused before any byte of
// it is read (I2: NO [TOOBIG] before "+"; I3: a non-synchronising one gets
// BAD and the connection ends). A client that disconnects mid-literal
// leaves nothing behind: the spool is destroyed (I4).
//
// MULTIAPPEND is all-or-nothing (RFC 3502 §6.3.11): the messages are
// committed in one storage transaction, with consecutive UIDs.
#include "../session.hpp"

#include "../server_impl.hpp"
#include "commands.hpp"
#include "homthu/imap/proto/writer.hpp"

#include <chrono>

namespace homthu::imap {

namespace {

struct pending_message {
  std::unique_ptr<storage::spool> spool;
  storage::flags flags;
  std::int64_t internal_date = 0;
};

}  // namespace

asio::awaitable<bool> session::append(std::string tag, std::string head) {
  proto::lexer lex(head);
  lex.tag();
  lex.skip(' ');
  lex.atom();  // APPEND
  std::optional<reply> failure;
  std::string name;
  if (!lex.sp()) {
    failure = reply::bad(lex.error());
  } else if (auto m = proto::parse_append_mailbox(lex); !m) {
    failure = reply::bad(lex.error());
  } else {
    reply err;
    if (!cmd::decode_mailbox_arg(*this, *m, name, err)) {
      failure = err;
    }
  }
  storage::mailbox_status target;
  if (!failure) {
    auto st = co_await work([&] { return store().status(account.id, name); });
    if (!st) {
      failure = st.error() == storage::error::not_found ? reply::no("[TRYCREATE] No such mailbox")
                                                         : storage_failure(st.error(), "APPEND");
    } else {
      target = *st;
    }
  }
  std::vector<pending_message> msgs;
  bool utf8_form = false;
  const std::uint64_t max_literal = cfg().imap.max_literal;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch()).count();
  for (int round = 0;; ++round) {
    // The lexer sits just before this message's [flags] [date] literal.
    pending_message pm;
    pm.internal_date = now;
    if (!failure) {
      if (round > 0 && !lex.sp()) {
        failure = reply::bad(lex.error());
      } else if (lex.next_is("UTF8")) {
        // RFC 6855 §4: UTF8 (~{N}) — the closing parenthesis follows the literal.
        lex.atom();
        if (!lex.sp() || !lex.skip('(') || lex.peek() != '~') {
          failure = reply::bad("Invalid UTF8 APPEND");
        }
        utf8_form = true;
      } else if (auto msg = proto::parse_append_message(lex); !msg) {
        failure = reply::bad(lex.error());
      } else {
        std::string why;
        if (!parse_flags(msg->flags, pm.flags, why)) {
          failure = reply::bad(why);
        }
        if (msg->internal_date) {
          pm.internal_date = *msg->internal_date;
        }
      }
    }
    const auto lit = reader_.literal();
    if (lit.size > max_literal) {
      if (lit.sync) {
        reader_.refuse_literal();
        write_tagged(tag, reply::no("[TOOBIG] Message exceeds the size limit"));
        co_return true;
      }
      write_tagged(tag, reply::bad("Message exceeds the size limit"));
      out_ += "* BYE Literal too big\r\n";
      co_return false;
    }
    if (failure && lit.sync) {
      // Refused before "+": the client sends no literal bytes.
      reader_.refuse_literal();
      write_tagged(tag, *failure);
      if (failure->st == reply::status::bad) {
        co_return !count_bad();
      }
      co_return true;
    }
    if (!failure) {
      auto sp = co_await work([&] { return store().begin_spool(); });
      if (!sp) {
        failure = storage_failure(sp.error(), "APPEND");
      } else {
        pm.spool = std::move(*sp);
      }
    }
    if (lit.sync) {
      if (failure) {
        reader_.refuse_literal();
        write_tagged(tag, *failure);
        co_return true;
      }
      out_ += "+ Ready for literal data\r\n";
      if (!co_await flush()) {
        co_return false;
      }
    }
    // Stream the literal (or swallow it when a non-synchronising literal
    // is already on its way after a failure).
    reader_.stream_literal();
    for (;;) {
      auto k = reader_.next();
      if (k == proto::reader::kind::literal_end) {
        break;
      }
      if (k == proto::reader::kind::need_more) {
        if (!co_await fill()) {
          co_return false;  // the spools go away with their temporary files
        }
        continue;
      }
      if (k != proto::reader::kind::literal_data) {
        co_return false;
      }
      if (!failure && pm.spool) {
        auto data = reader_.data();
        auto w = co_await work([&] { return pm.spool->write(data); });
        if (!w) {
          failure = storage_failure(w.error(), "APPEND");
          pm.spool.reset();
        }
      }
    }
    if (!failure && lit.size == 0) {
      failure = reply::no("Empty message");
    }
    if (!failure) {
      msgs.push_back(std::move(pm));
    }
    // After the literal: another message (MULTIAPPEND), or the end.
    std::optional<proto::reader::kind> next;
    for (;;) {
      auto k = reader_.next();
      if (k == proto::reader::kind::need_more) {
        if (!co_await fill()) {
          co_return false;
        }
        continue;
      }
      next = k;
      break;
    }
    head.assign(reader_.text());
    lex = proto::lexer(head);
    if (utf8_form) {
      if (!lex.skip(')')) {
        failure = failure ? failure : reply::bad("Missing ) after UTF8 literal");
      }
      utf8_form = false;
    }
    if (*next == proto::reader::kind::literal) {
      continue;
    }
    if (*next == proto::reader::kind::too_long) {
      write_tagged(tag, reply::bad("Command line too long"));
      co_return !count_bad();
    }
    // kind::command: the rest of the line must be empty.
    reader_.next_command();
    if (!failure && !lex.at_end()) {
      failure = reply::bad("Unexpected data after the message");
    }
    break;
  }
  if (failure) {
    write_tagged(tag, *failure);
    if (failure->st == reply::status::bad) {
      co_return !count_bad();
    }
    co_return true;
  }
  // Every spool made durable first, then one storage transaction for the
  // whole set (RFC 3502 §6.3.11: all messages or none).
  auto finish = [&]() -> storage::result<std::vector<storage::delivery_outcome>> {
    std::vector<storage::store::append_item> items;
    for (auto& m : msgs) {
      auto blob = m.spool->finish();
      if (!blob) {
        return blob.error();
      }
      items.push_back({std::move(*blob), m.flags, m.internal_date});
    }
    return store().append_many(account.id, name, items, account.quota_bytes, account.quota_messages);
  };
  auto r = co_await work(finish);
  msgs.clear();  // the spools: their blobs stay only where a message refers to them
  if (!r) {
    auto fail = r.error() == storage::error::not_found ? reply::no("[TRYCREATE] No such mailbox")
                                                        : storage_failure(r.error(), "APPEND");
    write_tagged(tag, fail);
    co_return true;
  }
  std::vector<std::uint32_t> new_uids;
  std::uint32_t uidvalidity = target.uidvalidity;
  for (const auto& o : *r) {
    uidvalidity = o.uidvalidity;
    new_uids.push_back(o.uid);
  }
  if (sel && sel->id == target.id) {
    control_->dirty = true;
    co_await sync(true);
  }
  std::string uidset;
  for (auto u : new_uids) {
    uidset += (uidset.empty() ? "" : ",") + std::to_string(u);
  }
  write_tagged(tag, reply::ok("[APPENDUID " + std::to_string(uidvalidity) + " " + uidset + "] APPEND completed"));
  co_return true;
}

}  // namespace homthu::imap
