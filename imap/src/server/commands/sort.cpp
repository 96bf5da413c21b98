// SORT and UID SORT (RFC 5256 §3), DISPLAYFROM/DISPLAYTO (RFC 5957). Sort
// keys come from the metadata storage computed at delivery (base subject,
// first address); strings compare with i;ascii-casemap, ties by sequence.
#include "commands.hpp"

#include <algorithm>
#include <unordered_map>

namespace homthu::imap::cmd {

namespace {

int casecmp(std::string_view a, std::string_view b) {
  std::size_t n = std::min(a.size(), b.size());
  for (std::size_t i = 0; i < n; ++i) {
    int x = std::toupper(static_cast<unsigned char>(a[i]));
    int y = std::toupper(static_cast<unsigned char>(b[i]));
    if (x != y) {
      return x < y ? -1 : 1;
    }
  }
  return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
}

}  // namespace

asio::awaitable<reply> sort(session& s, command& c) {
  auto a = proto::parse_sort(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (!charset_ok(a->charset)) {
    co_return reply::no("[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
  }
  std::string error;
  std::vector<std::uint32_t> order;
  co_await s.work([&] {
    std::optional<std::uint64_t> hm;
    auto idx = evaluate_search(s, a->root, error, hm);
    if (!error.empty() || idx.empty()) {
      return 0;
    }
    std::vector<std::uint32_t> uids;
    for (auto i : idx) {
      uids.push_back(s.sel->uids[i]);
    }
    auto metas = s.store().fetch_meta(s.account.id, s.sel->id, uids);
    if (!metas) {
      error = "[UNAVAILABLE] Sort failed, try again";
      return 0;
    }
    std::unordered_map<std::uint32_t, const storage::message_meta*> by_uid;
    for (const auto& m : *metas) {
      by_uid[m.entry.uid] = &m;
    }
    for (auto i : idx) {
      if (by_uid.count(s.sel->uids[i])) {
        order.push_back(i);
      }
    }
    using key = proto::sort_criterion::key;
    std::stable_sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
      const auto& mx = *by_uid[s.sel->uids[x]];
      const auto& my = *by_uid[s.sel->uids[y]];
      for (const auto& cr : a->criteria) {
        int r = 0;
        auto num = [](auto p, auto q) { return p < q ? -1 : (p > q ? 1 : 0); };
        switch (cr.k) {
          case key::arrival: r = num(mx.entry.internal_date, my.entry.internal_date); break;
          case key::date: {
            // RFC 5256: the Date header, else the internal date.
            auto dx = mx.sent_date ? mx.sent_date : mx.entry.internal_date;
            auto dy = my.sent_date ? my.sent_date : my.entry.internal_date;
            r = num(dx, dy);
            break;
          }
          case key::size: r = num(mx.entry.size, my.entry.size); break;
          case key::subject: r = casecmp(mx.base_subject, my.base_subject); break;
          case key::from: r = casecmp(mx.sort_from, my.sort_from); break;
          case key::to: r = casecmp(mx.sort_to, my.sort_to); break;
          case key::cc: r = casecmp(mx.sort_cc, my.sort_cc); break;
          case key::display_from: r = casecmp(mx.display_from, my.display_from); break;
          case key::display_to: r = casecmp(mx.display_to, my.display_to); break;
        }
        if (cr.reverse) {
          r = -r;
        }
        if (r != 0) {
          return r < 0;
        }
      }
      return x < y;
    });
    return 0;
  });
  if (!error.empty()) {
    co_return reply::no(error);
  }
  std::string o = "* SORT";
  for (auto i : order) {
    o += " " + std::to_string(c.uid ? s.sel->uids[i] : i + 1);
  }
  s.out(o + "\r\n");
  co_return reply::ok("SORT completed");
}

}  // namespace homthu::imap::cmd
