// The IMAP session loop: read with a deadline, frame with proto::reader,
// check the command table, run the handler, send untagged updates, then the
// tagged completion. See session.hpp for the invariants.
#include "session.hpp"

#include "command_table.hpp"
#include "homthu/imap/proto/utf7.hpp"
#include "homthu/imap/proto/writer.hpp"
#include "server_impl.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace homthu::imap {

namespace {

constexpr std::size_t small_read = 1024;    // while waiting for a new command
constexpr std::size_t large_read = 16384;   // inside a command or literal
constexpr std::size_t flush_at = 65536;
constexpr unsigned max_bad_before_login = 3;  // I6, Dovecot's pre-auth limit

proto::reader_limits limits_of(const common::config& cfg) {
  proto::reader_limits l;
  l.max_line = cfg.imap.max_line;
  l.max_command = cfg.imap.max_line;
  return l;
}

}  // namespace

session::session(server::impl& srv, common::stream& s, const common::connection_info& i)
    : info(i), stream(s), srv_(srv), reader_(limits_of(srv.svc.cfg)) {
  log = common::log::logger{}.with("session", i.session_id).with("peer", i.peer_ip);
}

session::~session() {
  watch_.reset();
  if (control_) {
    std::lock_guard lock(srv_.mu);
    srv_.sessions.erase(control_.get());
  }
}

common::worker_pool& session::workers() { return srv_.svc.workers; }
storage::store& session::store() { return srv_.svc.store; }
directory::directory& session::dir() { return srv_.svc.dir; }
const common::config& session::cfg() { return srv_.svc.cfg; }

bool session::tls_active() const { return stream.is_tls(); }

std::string session::capabilities() const {
  // Exactly what works (issue 6): nothing is listed that is not implemented.
  std::string c = "IMAP4rev1 IMAP4rev2 LITERAL+ SASL-IR ID ENABLE IDLE";
  if (st == state::not_authenticated) {
    if (!tls_active()) {
      c += " STARTTLS LOGINDISABLED";
    } else {
      c += " AUTH=PLAIN";
    }
    return c;
  }
  c += " NAMESPACE UNSELECT UIDPLUS MOVE CONDSTORE QRESYNC CHILDREN LIST-EXTENDED LIST-STATUS"
       " SPECIAL-USE CREATE-SPECIAL-USE UTF8=ACCEPT ESEARCH SEARCHRES SORT SORT=DISPLAY"
       " THREAD=REFERENCES QUOTA QUOTA=RES-STORAGE QUOTA=RES-MESSAGE BINARY MULTIAPPEND STATUS=SIZE"
       " COMPRESS=DEFLATE";
  return c;
}

bool session::mailbox_name(std::string_view wire, std::string& out) const {
  if (!proto::decode_mailbox(wire, utf8, out)) {
    return false;
  }
  // RFC 9051 §5.1: INBOX is case-insensitive, also as the first level.
  if (out.size() >= 5 && proto::iequals(std::string_view(out).substr(0, 5), "INBOX") &&
      (out.size() == 5 || out[5] == '/')) {
    out.replace(0, 5, "INBOX");
  }
  return true;
}

void session::append_mailbox(std::string& o, std::string_view name) const {
  proto::append_mailbox(o, name, utf8);
}

asio::awaitable<bool> session::flush() {
  if (closed_) {
    co_return false;
  }
  if (out_.empty()) {
    co_return true;
  }
  common::error_code ec;
  if (z_) {
    zbuf_.clear();
    if (!z_->compress(out_, zbuf_)) {
      log.warn("imap.deflate_failed", {});
      closed_ = true;
      co_return false;
    }
    co_await stream.write(asio::buffer(zbuf_), ec);
    if (zbuf_.capacity() > flush_at * 2) {
      std::string().swap(zbuf_);
    }
  } else {
    co_await stream.write(asio::buffer(out_), ec);
  }
  out_.clear();
  if (out_.capacity() > flush_at * 2) {
    std::string().swap(out_);
  }
  if (ec) {
    closed_ = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> session::maybe_flush() {
  if (out_.size() >= flush_at) {
    co_return co_await flush();
  }
  co_return !closed_;
}

void session::start_read() {
  if (read_pending_) {
    return;
  }
  // Between commands the read waits for readability first and takes its
  // buffer only when bytes are there: an idle connection holds no read
  // buffer, and over TLS no record buffer either (common/stream.hpp).
  read_size_ = reader_.idle() ? small_read : large_read;
  if (reader_.idle()) {
    rbuf_.reset();
    rbuf_size_ = 0;
  }
  // RFC 9051 §5.4: the autologout timer is at least 30 minutes once
  // authenticated; before that a shorter one stops idle probes.
  stream.expires_after(st == state::not_authenticated ? cfg().imap.preauth_timeout : cfg().imap.idle_timeout);
  read_pending_ = true;
  read_done_ = false;
  asio::co_spawn(control_->wake.get_executor(), read_task(),
                 asio::bind_cancellation_slot(read_cancel_.slot(), asio::detached));
}

asio::awaitable<void> session::read_task() {
  common::error_code ec;
  std::size_t n = 0;
  if (rbuf_size_ == 0) {
    co_await stream.wait_readable(ec);
  }
  if (!ec) {
    if (rbuf_size_ != read_size_) {
      rbuf_ = std::make_unique<char[]>(read_size_);
      rbuf_size_ = read_size_;
    }
    n = co_await stream.read_some(asio::buffer(rbuf_.get(), rbuf_size_), ec);
  }
  read_n_ = n;
  read_ec_ = ec;
  read_done_ = true;
  control_->notify();
}

// Takes a completed read into the reader. False when the connection ended.
asio::awaitable<bool> session::fill() {
  if (z_ && z_->pending()) {
    co_return inflate_input();
  }
  start_read();
  for (;;) {
    if (read_done_) {
      read_done_ = false;
      read_pending_ = false;
      if (read_ec_ || read_n_ == 0) {
        closed_ = true;
        co_return false;
      }
      if (z_) {
        z_->push(std::string_view(rbuf_.get(), read_n_));
        co_return inflate_input();
      }
      reader_.feed(std::string_view(rbuf_.get(), read_n_));
      co_return true;
    }
    if (control_->stopping) {
      co_return false;
    }
    control_->wake.expires_at(asio::steady_timer::time_point::max());
    common::error_code ec;
    co_await control_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

bool session::inflate_input() {
  // At most one large read's worth at a time: the reader sees decompressed
  // bytes in bounded pieces and applies its line limit to them (I7).
  zbuf_.clear();
  auto st = z_->inflate_some(zbuf_, large_read);
  if (st == deflate_stream::status::bomb) {
    log.warn("imap.inflate_bomb", {});
    out_ += "* BYE [LIMIT] Compressed input expands too much\r\n";
    return false;
  }
  if (st == deflate_stream::status::error) {
    out_ += "* BYE Invalid compressed data\r\n";
    return false;
  }
  reader_.feed(zbuf_);
  if (zbuf_.capacity() > flush_at * 2) {
    std::string().swap(zbuf_);
  }
  return true;
}

bool session::start_compress() {
  z_ = std::make_unique<deflate_stream>(cfg().imap.max_inflate_ratio);
  if (!z_->ok()) {
    log.error("imap.deflate_init_failed", {{"error", "zlib"}});
    return false;
  }
  return true;
}

asio::awaitable<void> session::wait_event_or_input(bool& input_ready) {
  input_ready = false;
  for (;;) {
    if (input_buffered()) {
      input_ready = true;
      co_return;
    }
    if (control_->dirty || control_->stopping || closed_) {
      co_return;
    }
    start_read();
    if (read_done_) {
      if (!co_await fill()) {
        co_return;
      }
      input_ready = true;
      co_return;
    }
    control_->wake.expires_at(asio::steady_timer::time_point::max());
    common::error_code ec;
    co_await control_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

asio::awaitable<std::optional<std::string>> session::read_line() {
  for (int guard = 0; guard < 1'000'000; ++guard) {
    switch (reader_.next()) {
      case proto::reader::kind::command: {
        std::string line(reader_.text());
        reader_.next_command();
        co_return line;
      }
      case proto::reader::kind::literal:
        // Continuation lines (SASL, DONE) carry no literal.
        if (reader_.literal().sync) {
          reader_.refuse_literal();
          co_return std::string("{literal}");
        }
        co_return std::nullopt;
      case proto::reader::kind::too_long:
        co_return std::string();
      case proto::reader::kind::need_more:
        if (!co_await flush() || !co_await fill()) {
          co_return std::nullopt;
        }
        break;
      default:
        co_return std::nullopt;
    }
  }
  co_return std::nullopt;
}

void session::write_tagged(const std::string& tag, const reply& r) {
  out_ += tag;
  out_ += r.st == reply::status::ok ? " OK " : r.st == reply::status::no ? " NO " : " BAD ";
  out_ += r.text;
  out_ += "\r\n";
}

bool session::count_bad() {
  ++bad_commands_;
  unsigned limit = st == state::not_authenticated ? max_bad_before_login : cfg().imap.max_bad_commands;
  if (bad_commands_ >= limit) {
    out_ += "* BYE Too many invalid commands\r\n";
    return true;
  }
  return false;
}

void session::select(std::unique_ptr<selected_mailbox> m) {
  sel = std::move(m);
  control_->selected_id = sel->id;
  control_->dirty = false;
  saved_valid = false;
  saved_uids.clear();
  st = state::selected;
}

void session::unselect() {
  sel.reset();
  control_->selected_id = 0;
  control_->dirty = false;
  saved_valid = false;
  saved_uids.clear();
  st = state::authenticated;
}

void session::watch_account() {
  std::weak_ptr<session_control> weak = control_;
  auto ex = control_->wake.get_executor();
  // Runs on a storage thread: only hop to our strand (store.hpp).
  watch_ = store().watch(account.id, [weak, ex](const storage::change_event& ev) {
    asio::post(ex, [weak, id = ev.mailbox_id] {
      if (auto c = weak.lock()) {
        if (c->selected_id == id) {
          c->dirty = true;
          c->notify();
        }
      }
    });
  });
}

asio::awaitable<void> session::sync(bool allow_expunge, bool force) {
  if (!sel) {
    co_return;
  }
  bool want_expunge = allow_expunge && !sel->pending_expunge.empty();
  if (!control_->dirty && !force && !want_expunge) {
    co_return;
  }
  control_->dirty = false;
  auto acct = account.id;
  auto id = sel->id;
  auto since = sel->known_modseq;
  auto ch = co_await work([&] { return store().changes_since(acct, id, since); });
  if (!ch) {
    log.warn("imap.sync_failed", {{"error", ch.error().message()}});
    co_return;
  }
  for (auto uid : ch->expunged) {
    if (sel->seq_of(uid) != 0 && !sel->is_pending_expunge(uid)) {
      sel->pending_expunge.push_back(uid);
    }
  }
  if (allow_expunge && !sel->pending_expunge.empty()) {
    auto gone = std::move(sel->pending_expunge);
    sel->pending_expunge.clear();
    std::sort(gone.begin(), gone.end());
    if (qresync) {
      // RFC 7162 §3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
      out_ += "* VANISHED " + proto::compress_numbers(gone) + "\r\n";
      for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
        if (auto seq = sel->seq_of(*it)) {
          sel->remove_seq(seq);
        }
      }
    } else {
      // Highest first, so each number is still right when the client reads it.
      for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
        if (auto seq = sel->seq_of(*it)) {
          out_ += "* " + std::to_string(seq) + " EXPUNGE\r\n";
          sel->remove_seq(seq);
        }
      }
    }
  }
  auto before = sel->count();
  for (const auto& e : ch->changed) {
    if (sel->uids.empty() || e.uid > sel->uids.back()) {
      sel->uids.push_back(e.uid);
      sel->modseqs.push_back(e.modseq);
      continue;
    }
    auto seq = sel->seq_of(e.uid);
    if (seq == 0 || sel->modseqs[seq - 1] >= e.modseq) {
      continue;
    }
    sel->modseqs[seq - 1] = e.modseq;
    out_ += "* " + std::to_string(seq) + " FETCH (FLAGS " + format_flags(e.flags_, recent(e.uid));
    if (qresync) {
      out_ += " UID " + std::to_string(e.uid);
    }
    if (condstore) {
      out_ += " MODSEQ (" + std::to_string(e.modseq) + ")";
    }
    out_ += ")\r\n";
  }
  if (sel->count() != before) {
    out_ += "* " + std::to_string(sel->count()) + " EXISTS\r\n";
    if (!rev2) {
      // New mail is \Recent to the first read-write session that sees it
      // (RFC 3501 §2.3.2); RECENT follows every change of the mailbox's
      // size (§7.3.2). A failed claim leaves the new mail not recent here.
      const bool claim = !sel->read_only;
      auto r = co_await work([&] { return store().claim_recent(acct, id, claim); });
      if (r && sel) {
        sel->add_recent(r->first, r->end);
      }
      if (sel) {
        out_ += "* " + std::to_string(sel->recent_count()) + " RECENT\r\n";
      }
    }
  }
  sel->uidnext = std::max(sel->uidnext, ch->uidnext);
  sel->known_modseq = std::max(sel->known_modseq, ch->highest_modseq);
}

asio::awaitable<bool> session::do_starttls() {
  if (!co_await flush()) {
    co_return false;
  }
  // S3 / CVE-2021-33515: nothing the client sent in plain text after
  // STARTTLS is ever executed.
  reader_.discard_input();
  auto ctx = srv_.svc.tls ? srv_.svc.tls->current() : nullptr;
  if (!ctx) {
    co_return false;
  }
  common::error_code ec;
  stream.expires_after(std::chrono::seconds(30));
  co_await stream.start_tls(*ctx, ec);
  if (ec) {
    log.info("imap.starttls_failed", {{"error", ec.message()}});
    closed_ = true;
    co_return false;
  }
  co_return true;
}

asio::awaitable<bool> session::dispatch(std::string_view text) {
  proto::lexer lex(text);
  auto tag = lex.tag();
  if (!tag || !lex.skip(' ')) {
    out_ += "* BAD Missing tag or command\r\n";
    co_return !count_bad();
  }
  std::string t(*tag);
  auto name_tok = lex.atom();
  if (!name_tok) {
    write_tagged(t, reply::bad("Missing command"));
    co_return !count_bad();
  }
  std::string name = proto::upper(*name_tok);
  bool uid = false;
  if (name == "UID") {
    auto sub = lex.skip(' ') ? lex.atom() : std::nullopt;
    if (!sub) {
      write_tagged(t, reply::bad("UID needs a command"));
      co_return !count_bad();
    }
    name = "UID " + proto::upper(*sub);
    uid = true;
  }
  const command_spec* spec = find_command(name);
  if (spec == nullptr || spec->fn == nullptr) {
    write_tagged(t, reply::bad(spec ? "APPEND needs a literal" : "Unknown command " + name.substr(0, 64)));
    co_return !count_bad();
  }
  if ((spec->states & static_cast<unsigned>(st)) == 0) {
    write_tagged(t, reply::bad(st == state::not_authenticated ? "Log in first"
                               : st == state::selected || spec->states == sel_state
                                   ? "No mailbox selected"
                                   : "Already authenticated"));
    co_return !count_bad();
  }
  if (!lex.at_end() && !lex.skip(' ')) {
    write_tagged(t, reply::bad("Expected a space after the command"));
    co_return !count_bad();
  }
  command c{t, name, uid, lex};
  reply r;
  try {
    r = co_await spec->fn(*this, c);
  } catch (const std::exception& ex) {
    log.error("imap.command_failed", {{"command", name}, {"error", ex.what()}});
    r = reply::no("[SERVERBUG] Internal error");
  }
  if (closed_) {
    co_return false;
  }
  if (st == state::selected && (spec->flags & cmd_no_sync) == 0 && r.st != reply::status::bad) {
    co_await sync((spec->flags & cmd_uses_seqs) == 0);
  }
  if (!r.no_tagged) {
    write_tagged(t, r);
  }
  if (r.st == reply::status::bad && count_bad()) {
    co_return false;
  }
  switch (r.action) {
    case reply::then::close:
      co_return false;
    case reply::then::starttls:
      co_return co_await do_starttls();
    case reply::then::compress:
      // The tagged OK goes out uncompressed; everything after it is
      // deflated (RFC 4978 §3). start_compress() is deliberately not a
      // coroutine: GCC 12 built one that only awaited flush() into a frame
      // that never finished destroying itself.
      if (!co_await flush()) {
        co_return false;
      }
      co_return start_compress();
    default:
      co_return true;
  }
}

// A literal is announced: decide before reading any of it (RFC 7888, I2, I3).
asio::awaitable<bool> session::handle_literal() {
  std::string head(reader_.text());
  const auto lit = reader_.literal();
  proto::lexer lex(head);
  auto tag = lex.tag();
  std::string t = tag ? std::string(*tag) : "*";
  std::string name;
  if (tag && lex.skip(' ')) {
    if (auto n = lex.atom()) {
      name = proto::upper(*n);
    }
  }
  if (name == "APPEND" && (st == state::authenticated || st == state::selected)) {
    co_return co_await append(t, head);
  }
  if (!reader_.fits_inline() || lit.binary) {
    if (lit.sync) {
      // No "+" was sent, so the client sends nothing of the literal.
      reader_.refuse_literal();
      write_tagged(t, reply::no(lit.binary ? "Binary literal not allowed here" : "[TOOBIG] Literal too big"));
      co_return true;
    }
    // A non-synchronising literal is already on its way: we cannot find
    // the next command in it (RFC 7888 §4).
    write_tagged(t, reply::bad("Literal too big"));
    out_ += "* BYE Literal too big\r\n";
    co_return false;
  }
  if (st == state::not_authenticated && !lit.sync && lit.size > 4096) {
    write_tagged(t, reply::bad("Literal too big before login"));
    out_ += "* BYE Literal too big\r\n";
    co_return false;
  }
  reader_.accept_literal();
  if (lit.sync) {
    out_ += "+ Ready for literal data\r\n";
    co_return co_await flush();
  }
  co_return true;
}

asio::awaitable<void> session::run() {
  control_ = std::make_shared<session_control>(co_await asio::this_coro::executor);
  {
    std::lock_guard lock(srv_.mu);
    srv_.sessions.emplace(control_.get(), control_);
    if (srv_.stopped) {
      control_->stopping = true;
    }
  }
  out_ += "* OK [CAPABILITY " + capabilities() + "] homthu IMAP ready\r\n";
  log.debug("imap.connect", {{"listener", info.listener}});
  while (!closed_) {
    if (control_->stopping) {
      out_ += "* BYE Server shutting down\r\n";
      break;
    }
    auto k = reader_.next();
    bool keep = true;
    switch (k) {
      case proto::reader::kind::need_more:
        if (!co_await flush()) {
          keep = false;
          break;
        }
        if (reader_.idle()) {
          reader_.shrink();
          if (z_ && !z_->pending()) {
            z_->shrink();
          }
        }
        keep = co_await fill();
        break;
      case proto::reader::kind::too_long:
        out_ += "* BAD Command line too long\r\n";
        keep = !count_bad();
        break;
      case proto::reader::kind::literal:
        keep = co_await handle_literal();
        break;
      case proto::reader::kind::command: {
        std::string text(reader_.text());
        reader_.next_command();
        if (text.empty()) {
          break;  // an empty line is not worth a BAD
        }
        keep = co_await dispatch(text);
        break;
      }
      default:
        keep = false;
        break;
    }
    if (!keep) {
      if (control_->stopping && !closed_) {
        out_ += "* BYE Server shutting down\r\n";
      }
      break;
    }
  }
  co_await flush();
  if (read_pending_) {
    read_cancel_.emit(asio::cancellation_type::all);
    // Bounded: the read's own deadline ends it even if cancellation does not.
    for (int waited = 0; read_pending_ && !read_done_ && waited < 3600; ++waited) {
      control_->wake.expires_after(std::chrono::seconds(1));
      common::error_code ec;
      co_await control_->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    read_pending_ = false;
  }
  watch_.reset();
  co_await stream.close();
}

}  // namespace homthu::imap
