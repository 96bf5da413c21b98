// FETCH and UID FETCH (RFC 9051 §6.4.5, §7.5.2; BINARY RFC 3516;
// CHANGEDSINCE/VANISHED RFC 7162 §3.1.4, §3.2.6). ENVELOPE and
// BODYSTRUCTURE come from the metadata parsed at delivery; whole-message,
// header and text sections are streamed from the blob in 64 KiB chunks and
// never held whole; sections of inner MIME parts load the message once.
#include "commands.hpp"

#include "homthu/imap/proto/mime.hpp"
#include "homthu/imap/proto/writer.hpp"

#include <algorithm>

namespace homthu::imap::cmd {

namespace {

constexpr std::size_t batch = 256;
constexpr std::size_t chunk = 65536;
constexpr std::uint64_t max_in_memory = 64ull << 20;
constexpr std::uint64_t max_header_in_memory = 4ull << 20;

using att = proto::fetch_att;

bool sets_seen(const att& a) {
  return !a.peek && (a.k == att::kind::body_section || a.k == att::kind::binary || a.k == att::kind::rfc822 ||
                     a.k == att::kind::rfc822_text);
}

struct message_io {
  session& s;
  const storage::message_meta& meta;
  std::unique_ptr<storage::blob_reader> blob;
  std::optional<std::string> whole;   // loaded for inner MIME parts

  asio::awaitable<bool> open() {
    if (blob) {
      co_return true;
    }
    auto r = co_await s.work([&] { return s.store().open_blob(meta.blob); });
    if (!r) {
      s.log.warn("imap.blob_open_failed", {{"blob", meta.blob}, {"error", r.error().message()}});
      co_return false;
    }
    blob = std::move(*r);
    co_return true;
  }

  // Reads [begin, end) into memory (bounded by the caller).
  asio::awaitable<std::optional<std::string>> read(std::uint64_t begin, std::uint64_t end) {
    if (!co_await open()) {
      co_return std::nullopt;
    }
    std::string out;
    out.resize(static_cast<std::size_t>(end - begin));
    auto ok = co_await s.work([&]() -> bool {
      if (!blob->seek(begin)) {
        return false;
      }
      std::size_t got = 0;
      while (got < out.size()) {
        auto n = blob->read(std::span<char>(out.data() + got, out.size() - got));
        if (!n || *n == 0) {
          return false;
        }
        got += *n;
      }
      return true;
    });
    if (!ok) {
      co_return std::nullopt;
    }
    co_return out;
  }

  asio::awaitable<const std::string*> load_whole() {
    if (!whole) {
      if (!co_await open()) {
        co_return nullptr;
      }
      if (blob->size() > max_in_memory) {
        co_return nullptr;
      }
      whole = co_await read(0, blob->size());
      if (!whole) {
        co_return nullptr;
      }
    }
    co_return &*whole;
  }

  // Streams [begin, end) of the blob as a literal's content.
  asio::awaitable<bool> stream(std::uint64_t begin, std::uint64_t end) {
    if (!co_await open()) {
      co_return false;
    }
    bool ok = co_await s.work([&] { return static_cast<bool>(blob->seek(begin)); });
    if (!ok) {
      co_return false;
    }
    std::uint64_t left = end - begin;
    while (left > 0) {
      std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(left, chunk));
      auto& buf = s.buffer();
      auto at = buf.size();
      buf.resize(at + want);
      auto n = co_await s.work([&] { return blob->read(std::span<char>(buf.data() + at, want)); });
      if (!n || *n == 0) {
        buf.resize(at);
        co_return false;
      }
      buf.resize(at + *n);
      left -= *n;
      if (!co_await s.maybe_flush()) {
        co_return false;
      }
    }
    co_return true;
  }
};

std::string item_name(const att& a) {
  switch (a.k) {
    case att::kind::rfc822: return "RFC822";
    case att::kind::rfc822_header: return "RFC822.HEADER";
    case att::kind::rfc822_text: return "RFC822.TEXT";
    case att::kind::binary: return "BINARY[" + a.section.spec + "]";
    case att::kind::binary_size: return "BINARY.SIZE[" + a.section.spec + "]";
    default: return "BODY[" + a.section.spec + "]";
  }
}

// Applies <offset.count> (RFC 9051 §6.4.5).
void clip(const att& a, std::uint64_t& begin, std::uint64_t& end) {
  if (!a.partial) {
    return;
  }
  begin = std::min(end, begin + a.partial->first);
  end = std::min(end, begin + a.partial->second);
}

void literal_head(std::string& out, std::uint64_t n, bool binary) {
  out += binary ? "~{" : "{";
  out += std::to_string(n);
  out += "}\r\n";
}

// Writes one body item: "NAME[spec]<origin> literal". False on an I/O
// failure (the response is then broken; the caller ends the session).
// `error` is set for a protocol-level refusal found before anything is written.
asio::awaitable<bool> body_item(session& s, message_io& io, const att& a, bool first, std::string& error) {
  const auto& meta = io.meta;
  std::uint64_t size = meta.entry.size;
  std::uint64_t hsize = std::min<std::uint64_t>(meta.header_size, size);
  std::string name = (first ? "" : " ") + item_name(a);
  if (a.partial) {
    name += "<" + std::to_string(a.partial->first) + ">";
  }
  using text = proto::fetch_section::text;
  const auto& sec = a.section;
  bool top = sec.part.empty();
  // Whole message, its header or its text: streamed straight from the blob.
  if (top && (sec.kind == text::none || sec.kind == text::header || sec.kind == text::text) &&
      a.k != att::kind::binary_size) {
    std::uint64_t b = 0, e = size;
    if (a.k == att::kind::rfc822_header || sec.kind == text::header) {
      e = hsize;
    } else if (a.k == att::kind::rfc822_text || sec.kind == text::text) {
      b = hsize;
    }
    clip(a, b, e);
    s.out(name + " ");
    literal_head(s.buffer(), e - b, false);
    co_return co_await io.stream(b, e);
  }
  std::string content;
  if (top && (sec.kind == text::header_fields || sec.kind == text::header_fields_not)) {
    auto h = co_await io.read(0, std::min(hsize, max_header_in_memory));
    if (!h) {
      error = "[SERVERBUG] Message unreadable";
      co_return true;
    }
    content = proto::filter_header(*h, sec.fields, sec.kind == text::header_fields_not);
  } else {
    const std::string* msg = co_await io.load_whole();
    if (msg == nullptr) {
      error = "[LIMIT] Message too large for this section; fetch BODY[] instead";
      co_return true;
    }
    auto root = proto::parse_mime(*msg);
    const proto::mime_entity* e = proto::find_part(root, sec.part);
    if (e == nullptr) {
      // RFC 9051 §6.4.5: a part that does not exist is an empty string.
      content.clear();
    } else {
      std::string_view m(*msg);
      const proto::mime_entity* inner = e;
      if (!top && (sec.kind == text::header || sec.kind == text::text || sec.kind == text::header_fields ||
                   sec.kind == text::header_fields_not)) {
        inner = e->message.get();
      }
      if (inner == nullptr) {
        content.clear();
      } else {
        switch (sec.kind) {
          case text::none:
            content = (top && e == &root) ? std::string(m) : std::string(m.substr(e->body_begin, e->body_end - e->body_begin));
            break;
          case text::mime:
            content = std::string(m.substr(e->header_begin, e->body_begin - e->header_begin));
            break;
          case text::header:
            content = std::string(m.substr(inner->header_begin, inner->body_begin - inner->header_begin));
            break;
          case text::text:
            content = std::string(m.substr(inner->body_begin, inner->body_end - inner->body_begin));
            break;
          case text::header_fields:
          case text::header_fields_not:
            content = proto::filter_header(m.substr(inner->header_begin, inner->body_begin - inner->header_begin),
                                           sec.fields, sec.kind == text::header_fields_not);
            break;
        }
        if ((a.k == att::kind::binary || a.k == att::kind::binary_size) && !top) {
          if (e->multipart() || e->message) {
            error = "[UNKNOWN-CTE] BINARY of a multipart or message part";
            co_return true;
          }
          auto d = proto::decode_transfer_encoding(content, e->cte);
          if (!d) {
            error = "[UNKNOWN-CTE] Unknown Content-Transfer-Encoding";
            co_return true;
          }
          content = std::move(*d);
        }
      }
    }
  }
  if (a.k == att::kind::binary_size) {
    s.out(" " + name + " " + std::to_string(content.size()));
    co_return true;
  }
  std::uint64_t b = 0, e = content.size();
  clip(a, b, e);
  bool binary = a.k == att::kind::binary && content.find('\0') != std::string::npos;
  s.out(name + " ");
  literal_head(s.buffer(), e - b, binary);
  s.out(std::string_view(content).substr(static_cast<std::size_t>(b), static_cast<std::size_t>(e - b)));
  co_return true;
}

}  // namespace

asio::awaitable<reply> fetch(session& s, command& c) {
  auto a = proto::parse_fetch(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (a->vanished && !c.uid) {
    co_return reply::bad("VANISHED needs UID FETCH");
  }
  if (a->vanished && !s.qresync) {
    co_return reply::bad("QRESYNC is not enabled");
  }
  std::vector<std::uint32_t> idx;
  if (!resolve_set(s, a->set, c.uid, idx)) {
    co_return reply::bad("No saved search result");
  }
  if (a->changed_since) {
    s.condstore = true;
  }
  bool want_uid = c.uid;
  bool want_modseq = a->changed_since.has_value() || s.condstore;
  bool want_flags = false;
  bool seen = false;
  for (const auto& x : a->atts) {
    want_uid = want_uid || x.k == att::kind::uid;
    want_flags = want_flags || x.k == att::kind::flags;
    seen = seen || sets_seen(x);
    if (x.k == att::kind::modseq) {
      s.condstore = true;
    }
  }
  seen = seen && !s.sel->read_only;
  auto id = s.sel->id;
  if (a->vanished) {
    auto since = *a->changed_since;
    auto ch = co_await s.work([&] { return s.store().changes_since(s.account.id, id, since); });
    if (ch) {
      std::vector<std::uint32_t> gone;
      for (auto u : ch->expunged) {
        if (a->set.contains(u, s.sel->uidnext)) {
          gone.push_back(u);
        }
      }
      std::sort(gone.begin(), gone.end());
      if (!gone.empty()) {
        s.out("* VANISHED (EARLIER) " + proto::compress_numbers(gone) + "\r\n");
      }
    }
  }
  std::string refusal;
  bool any_missing = false;
  for (std::size_t start = 0; start < idx.size(); start += batch) {
    std::vector<std::uint32_t> uids;
    for (std::size_t i = start; i < std::min(idx.size(), start + batch); ++i) {
      uids.push_back(s.sel->uids[idx[i]]);
    }
    auto metas = co_await s.work([&] { return s.store().fetch_meta(s.account.id, id, uids); });
    if (!metas) {
      co_return storage_failure(metas.error(), "FETCH");
    }
    if (seen) {
      // RFC 9051 §6.4.5: fetching a body section sets \Seen.
      std::vector<std::uint32_t> unseen;
      for (const auto& m : *metas) {
        if (!(m.entry.flags_.system & storage::flag_seen)) {
          unseen.push_back(m.entry.uid);
        }
      }
      if (!unseen.empty()) {
        storage::flags f;
        f.system = storage::flag_seen;
        auto r = co_await s.work(
            [&] { return s.store().store_flags(s.account.id, id, unseen, storage::flag_op::add, f, std::nullopt); });
        if (r) {
          for (const auto& ch : r->changed) {
            for (auto& m : *metas) {
              if (m.entry.uid == ch.uid) {
                m.entry.flags_ = ch.flags_;
                m.entry.modseq = ch.modseq;
                m.entry.uid = ch.uid;
                // Shown below in this response; the session's sync must not repeat it.
                if (auto seq = s.sel->seq_of(ch.uid)) {
                  s.sel->modseqs[seq - 1] = std::max(s.sel->modseqs[seq - 1], ch.modseq);
                }
                want_flags = true;
              }
            }
          }
        }
      }
    }
    if (metas->size() < uids.size()) {
      any_missing = true;
    }
    for (const auto& meta : *metas) {
      auto seq = s.sel->seq_of(meta.entry.uid);
      if (seq == 0) {
        continue;
      }
      if (a->changed_since && meta.entry.modseq <= *a->changed_since) {
        continue;
      }
      std::string& o = s.buffer();
      o += "* " + std::to_string(seq) + " FETCH (";
      bool first = true;
      auto sep = [&] {
        if (!first) {
          o.push_back(' ');
        }
        first = false;
      };
      if (want_uid) {
        sep();
        o += "UID " + std::to_string(meta.entry.uid);
      }
      if (want_flags) {
        sep();
        o += "FLAGS " + format_flags(meta.entry.flags_, s.recent(meta.entry.uid));
      }
      if (want_modseq) {
        sep();
        o += "MODSEQ (" + std::to_string(meta.entry.modseq) + ")";
      }
      message_io io{s, meta, nullptr, std::nullopt};
      for (const auto& x : a->atts) {
        switch (x.k) {
          case att::kind::uid:
          case att::kind::flags:
          case att::kind::modseq:
            break;
          case att::kind::internaldate:
            sep();
            o += "INTERNALDATE \"" + proto::format_date_time(meta.entry.internal_date) + "\"";
            break;
          case att::kind::rfc822_size:
            sep();
            o += "RFC822.SIZE " + std::to_string(meta.entry.size);
            break;
          case att::kind::envelope:
            sep();
            o += "ENVELOPE " + meta.envelope;
            break;
          case att::kind::bodystructure:
            sep();
            o += "BODYSTRUCTURE " + meta.bodystructure;
            break;
          case att::kind::body_nonext:
            sep();
            o += "BODY " + meta.body;
            break;
          default: {
            std::string err;
            bool was_first = first;
            first = false;
            if (!co_await body_item(s, io, x, was_first, err)) {
              co_return reply::no("[SERVERBUG] Message unreadable");
            }
            if (!err.empty() && refusal.empty()) {
              refusal = err;
            }
            break;
          }
        }
      }
      s.out(")\r\n");
      if (!co_await s.maybe_flush()) {
        co_return reply::no("Connection lost");
      }
    }
  }
  if (!refusal.empty()) {
    co_return reply::no(refusal);
  }
  if (any_missing && !c.uid) {
    // RFC 9051 §7.4.1 (EXPUNGEISSUED, RFC 5530): some messages were expunged
    // by another session and could not be returned.
    co_return reply::no("[EXPUNGEISSUED] Some messages were expunged");
  }
  co_return reply::ok("FETCH completed");
}

}  // namespace homthu::imap::cmd
