// SEARCH and UID SEARCH (RFC 9051 §6.4.4: every key), ESEARCH (RFC 4731),
// SEARCHRES (RFC 5182), MODSEQ (RFC 7162 §3.1.5), OLDER/YOUNGER (RFC 5032
// keys, accepted though WITHIN is not advertised). Text keys go to the
// storage full-text index, which ignores case and Vietnamese diacritics.
// Work is bounded: the key count and depth are capped by the parser and each
// key is evaluated once per message.
#include "commands.hpp"

#include "homthu/imap/proto/mime.hpp"
#include "homthu/imap/proto/writer.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

namespace homthu::imap::cmd {

namespace {

using key = proto::search_key;
using kind = key::kind;

struct needs {
  bool meta = false;
  bool header = false;
  bool modseq = false;
};

void scan(const key& k, needs& n) {
  switch (k.k) {
    case kind::sentbefore:
    case kind::senton:
    case kind::sentsince:
      n.meta = true;
      break;
    case kind::header:
      n.meta = n.header = true;
      break;
    case kind::modseq:
      n.modseq = true;
      break;
    default:
      break;
  }
  for (const auto& c : k.children) {
    scan(c, n);
  }
}

std::int64_t day_of(std::int64_t t) { return (t >= 0 ? t : t - 86399) / 86400 * 86400; }

bool has_keyword(const storage::flags& f, const std::string& kw) {
  for (const auto& k : f.keywords) {
    if (proto::iequals(k, kw)) {
      return true;
    }
  }
  return false;
}

bool icontains(std::string_view hay, std::string_view needle) {
  if (needle.empty()) {
    return true;
  }
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != hay.end();
}

struct evaluator {
  session& s;
  std::int64_t now;
  std::unordered_map<std::uint32_t, const storage::message_entry*> entries;
  std::unordered_map<std::uint32_t, const storage::message_meta*> metas;
  std::map<const key*, std::vector<std::uint32_t>> text_hits;
  std::map<const key*, std::vector<std::uint32_t>> header_hits;
  std::string error;

  storage::text_field field_of(kind k) {
    switch (k) {
      case kind::bcc: return storage::text_field::bcc;
      case kind::body: return storage::text_field::body;
      case kind::cc: return storage::text_field::cc;
      case kind::from: return storage::text_field::from;
      case kind::subject: return storage::text_field::subject;
      case kind::to: return storage::text_field::to;
      default: return storage::text_field::text;
    }
  }

  void prepare(const key& k, const std::vector<storage::message_meta>& all_meta) {
    switch (k.k) {
      case kind::bcc: case kind::body: case kind::cc: case kind::from:
      case kind::subject: case kind::text: case kind::to: {
        if (k.value.empty()) {
          break;
        }
        auto r = s.store().search_text(s.account.id, s.sel->id, field_of(k.k), k.value);
        if (!r) {
          error = "[UNAVAILABLE] Search failed, try again";
          return;
        }
        text_hits[&k] = std::move(*r);
        break;
      }
      case kind::header: {
        auto& hits = header_hits[&k];
        for (const auto& m : all_meta) {
          auto blob = s.store().open_blob(m.blob);
          if (!blob) {
            continue;
          }
          std::string h(std::min<std::uint64_t>(m.header_size, 1u << 20), '\0');
          std::size_t got = 0;
          while (got < h.size()) {
            auto n = (*blob)->read(std::span<char>(h.data() + got, h.size() - got));
            if (!n || *n == 0) {
              break;
            }
            got += *n;
          }
          h.resize(got);
          auto only = proto::filter_header(h, {k.field}, false);
          // Matches when the field is present and its value contains the
          // string (RFC 9051 §6.4.4); an empty string: present at all.
          if (only.size() > 2) {
            auto colon = only.find(':');
            if (icontains(std::string_view(only).substr(colon + 1), k.value)) {
              hits.push_back(m.entry.uid);
            }
          }
        }
        std::sort(hits.begin(), hits.end());
        break;
      }
      default:
        break;
    }
    for (const auto& c : k.children) {
      prepare(c, all_meta);
    }
  }

  bool in(const std::vector<std::uint32_t>& sorted, std::uint32_t uid) const {
    return std::binary_search(sorted.begin(), sorted.end(), uid);
  }

  bool saved_has(std::uint32_t uid) const {
    return std::find(s.saved_uids.begin(), s.saved_uids.end(), uid) != s.saved_uids.end();
  }

  bool match(const key& k, std::uint32_t seq, std::uint32_t uid, const storage::message_entry& e) {
    const auto sys = e.flags_.system;
    auto sent = [&] {
      auto it = metas.find(uid);
      std::int64_t t = it != metas.end() ? it->second->sent_date : 0;
      return day_of(t != 0 ? t : e.internal_date);
    };
    switch (k.k) {
      case kind::all: return true;
      case kind::and_:
        for (const auto& c : k.children) {
          if (!match(c, seq, uid, e)) {
            return false;
          }
        }
        return true;
      case kind::or_: return match(k.children[0], seq, uid, e) || match(k.children[1], seq, uid, e);
      case kind::not_: return !match(k.children[0], seq, uid, e);
      case kind::seqset:
        return k.set.saved ? saved_has(uid) : k.set.contains(seq, s.sel->count());
      case kind::uid:
        return k.set.saved ? saved_has(uid) : k.set.contains(uid, s.sel->uids.empty() ? 0 : s.sel->uids.back());
      case kind::answered: return sys & storage::flag_answered;
      case kind::deleted: return sys & storage::flag_deleted;
      case kind::draft: return sys & storage::flag_draft;
      case kind::flagged: return sys & storage::flag_flagged;
      case kind::seen: return sys & storage::flag_seen;
      case kind::unanswered: return !(sys & storage::flag_answered);
      case kind::undeleted: return !(sys & storage::flag_deleted);
      case kind::undraft: return !(sys & storage::flag_draft);
      case kind::unflagged: return !(sys & storage::flag_flagged);
      case kind::unseen: return !(sys & storage::flag_seen);
      // RFC 3501 §6.4.4; s.recent() is false for every message under IMAP4rev2.
      case kind::recent: return s.recent(uid);
      case kind::new_: return s.recent(uid) && !(sys & storage::flag_seen);
      case kind::old: return !s.recent(uid);
      case kind::keyword: return has_keyword(e.flags_, k.value);
      case kind::unkeyword: return !has_keyword(e.flags_, k.value);
      case kind::before: return day_of(e.internal_date) < k.date;
      case kind::on: return day_of(e.internal_date) == k.date;
      case kind::since: return day_of(e.internal_date) >= k.date;
      case kind::sentbefore: return sent() < k.date;
      case kind::senton: return sent() == k.date;
      case kind::sentsince: return sent() >= k.date;
      case kind::larger: return e.size > k.number;
      case kind::smaller: return e.size < k.number;
      case kind::modseq: return e.modseq >= k.number;
      case kind::older: return now - e.internal_date >= static_cast<std::int64_t>(k.number);
      case kind::younger: return now - e.internal_date <= static_cast<std::int64_t>(k.number);
      case kind::header: return in(header_hits[&k], uid);
      case kind::bcc: case kind::body: case kind::cc: case kind::from:
      case kind::subject: case kind::text: case kind::to:
        return k.value.empty() || in(text_hits[&k], uid);
    }
    return false;
  }
};

}  // namespace

bool charset_ok(const std::string& cs) { return cs.empty() || cs == "UTF-8" || cs == "US-ASCII"; }

std::vector<std::uint32_t> evaluate_search(session& s, const proto::search_key& root, std::string& error,
                                           std::optional<std::uint64_t>& highest_modseq) {
  std::vector<std::uint32_t> out;
  needs n;
  scan(root, n);
  auto entries = s.store().messages(s.account.id, s.sel->id);
  if (!entries) {
    error = "[UNAVAILABLE] Search failed, try again";
    return out;
  }
  evaluator ev{s, std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch()).count()};
  for (const auto& e : *entries) {
    ev.entries[e.uid] = &e;
  }
  std::vector<storage::message_meta> metas;
  if (n.meta) {
    auto m = s.store().fetch_meta(s.account.id, s.sel->id, s.sel->uids);
    if (!m) {
      error = "[UNAVAILABLE] Search failed, try again";
      return out;
    }
    metas = std::move(*m);
    for (const auto& x : metas) {
      ev.metas[x.entry.uid] = &x;
    }
  }
  ev.prepare(root, metas);
  if (!ev.error.empty()) {
    error = ev.error;
    return out;
  }
  std::uint64_t hm = 0;
  for (std::uint32_t i = 0; i < s.sel->count(); ++i) {
    auto uid = s.sel->uids[i];
    auto it = ev.entries.find(uid);
    if (it == ev.entries.end()) {
      continue;  // expunged by another session
    }
    if (ev.match(root, i + 1, uid, *it->second)) {
      out.push_back(i);
      hm = std::max(hm, it->second->modseq);
    }
  }
  if (n.modseq) {
    highest_modseq = hm;
  }
  return out;
}

asio::awaitable<reply> search(session& s, command& c) {
  auto a = proto::parse_search(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (!charset_ok(a->charset)) {
    co_return reply::no("[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
  }
  std::string error;
  std::optional<std::uint64_t> hm;
  auto idx = co_await s.work([&] { return evaluate_search(s, a->root, error, hm); });
  if (!error.empty()) {
    co_return reply::no(error);
  }
  if (hm) {
    s.condstore = true;
  }
  std::vector<std::uint32_t> nums;
  std::vector<std::uint32_t> uids;
  for (auto i : idx) {
    nums.push_back(c.uid ? s.sel->uids[i] : i + 1);
    uids.push_back(s.sel->uids[i]);
  }
  bool esearch = a->esearch || s.rev2;
  auto has = [&](const char* r) { return std::find(a->returns.begin(), a->returns.end(), r) != a->returns.end(); };
  bool only_save = a->esearch && a->returns.size() == 1 && has("SAVE");
  if (has("SAVE")) {
    // RFC 5182 §2.1: with MIN/MAX alone only those are saved.
    s.saved_uids.clear();
    bool minmax_only = (has("MIN") || has("MAX")) && !has("ALL") && !has("COUNT");
    if (minmax_only && !uids.empty()) {
      if (has("MIN")) s.saved_uids.push_back(uids.front());
      if (has("MAX")) s.saved_uids.push_back(uids.back());
    } else {
      s.saved_uids = uids;
    }
    s.saved_valid = true;
  }
  if (!esearch) {
    std::string o = "* SEARCH";
    for (auto n : nums) {
      o += " " + std::to_string(n);
    }
    if (hm && !nums.empty()) {
      o += " (MODSEQ " + std::to_string(*hm) + ")";
    }
    s.out(o + "\r\n");
    co_return reply::ok("SEARCH completed");
  }
  if (!only_save) {
    bool all = a->returns.empty() || has("ALL");
    std::string o = "* ESEARCH (TAG ";
    proto::append_string(o, c.tag);
    o += ")";
    if (c.uid) {
      o += " UID";
    }
    if (has("MIN") && !nums.empty()) o += " MIN " + std::to_string(nums.front());
    if (has("MAX") && !nums.empty()) o += " MAX " + std::to_string(nums.back());
    if (has("COUNT")) o += " COUNT " + std::to_string(nums.size());
    if (all && !nums.empty()) o += " ALL " + proto::compress_numbers(nums);
    if (hm && !nums.empty()) o += " MODSEQ " + std::to_string(*hm);
    s.out(o + "\r\n");
  }
  co_return reply::ok("SEARCH completed");
}

}  // namespace homthu::imap::cmd
