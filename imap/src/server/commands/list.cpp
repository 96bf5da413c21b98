// LIST (RFC 9051 §6.3.9) with LIST-EXTENDED (RFC 5258), LIST-STATUS
// (RFC 5819), SPECIAL-USE (RFC 6154), CHILDREN (RFC 3348); and LSUB
// (RFC 3501 §6.3.9). Patterns are matched without recursion (bounded work).
#include "commands.hpp"

#include "homthu/imap/proto/writer.hpp"

#include <algorithm>
#include <set>

namespace homthu::imap::cmd {

namespace {

// '*' matches anything, '%' anything but the separator (RFC 9051 §6.3.9).
bool matches(std::string_view pat, std::string_view name) {
  std::vector<char> prev(name.size() + 1, 0), cur(name.size() + 1, 0);
  prev[0] = 1;
  for (std::size_t i = 0; i < pat.size(); ++i) {
    char p = pat[i];
    cur.assign(name.size() + 1, 0);
    if (p == '*' || p == '%') {
      cur[0] = prev[0];
      for (std::size_t j = 1; j <= name.size(); ++j) {
        cur[j] = prev[j] || (cur[j - 1] && (p == '*' || name[j - 1] != '/'));
      }
    } else {
      for (std::size_t j = 1; j <= name.size(); ++j) {
        cur[j] = prev[j - 1] && name[j - 1] == p;
      }
    }
    std::swap(prev, cur);
  }
  return prev[name.size()] != 0;
}

const char* use_attr(storage::special_use u) {
  switch (u) {
    case storage::special_use::sent: return "\\Sent";
    case storage::special_use::drafts: return "\\Drafts";
    case storage::special_use::trash: return "\\Trash";
    case storage::special_use::junk: return "\\Junk";
    case storage::special_use::archive: return "\\Archive";
    default: return nullptr;
  }
}

// Reference and pattern joined (RFC 9051 §6.3.9), decoded to UTF-8, with
// INBOX case-insensitive.
bool full_pattern(session& s, const std::string& ref, const std::string& pat, std::string& out) {
  std::string joined = ref;
  if (!pat.empty() && pat[0] == '/') {
    joined = pat;
  } else {
    joined += pat;
  }
  if (!s.mailbox_name(joined, out)) {
    return false;
  }
  return true;
}

bool any_match(const std::vector<std::string>& pats, const std::string& name) {
  for (const auto& p : pats) {
    if (matches(p, name)) {
      return true;
    }
  }
  return false;
}

}  // namespace

asio::awaitable<reply> list(session& s, command& c) {
  auto a = proto::parse_list(c.lex, false);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (a->patterns.size() == 1 && a->patterns[0].empty() && !a->extended) {
    // RFC 9051 §6.3.9: the hierarchy delimiter and root.
    s.out("* LIST (\\Noselect) \"/\" \"\"\r\n");
    co_return reply::ok("LIST completed");
  }
  std::vector<std::string> pats;
  for (const auto& p : a->patterns) {
    std::string full;
    if (!full_pattern(s, a->reference, p, full)) {
      co_return reply::no("[CANNOT] Invalid mailbox pattern encoding");
    }
    pats.push_back(std::move(full));
  }
  struct row {
    std::string name;
    std::string attrs;
    bool selectable = true;
    storage::mailbox_status st;
  };
  std::vector<row> rows;
  bool want_status = !a->return_status.empty();
  bool want_deleted = std::find(a->return_status.begin(), a->return_status.end(), "DELETED") != a->return_status.end();
  std::vector<std::uint32_t> deleted;
  auto err = co_await s.work([&]() -> boost::system::error_code {
    auto boxes = s.store().list_mailboxes(s.account.id);
    if (!boxes) {
      return boxes.error();
    }
    std::set<std::string> subs;
    if (a->select_subscribed || a->return_subscribed) {
      auto sl = s.store().subscriptions(s.account.id);
      if (!sl) {
        return sl.error();
      }
      subs.insert(sl->begin(), sl->end());
    }
    std::set<std::string> existing;
    for (const auto& m : *boxes) {
      existing.insert(m.name);
      if (!any_match(pats, m.name)) {
        continue;
      }
      if (a->select_subscribed && !subs.count(m.name)) {
        continue;
      }
      if (a->select_special_use && m.use == storage::special_use::none) {
        continue;
      }
      row r{m.name, {}, true, m};
      r.attrs = m.has_children ? "\\HasChildren" : "\\HasNoChildren";
      if (auto u = use_attr(m.use)) {
        r.attrs += std::string(" ") + u;
      }
      if (subs.count(m.name) && (a->select_subscribed || a->return_subscribed)) {
        r.attrs += " \\Subscribed";
      }
      rows.push_back(std::move(r));
    }
    if (a->select_subscribed) {
      // Subscribed names that no longer exist (RFC 5258 §3.1).
      for (const auto& n : subs) {
        if (!existing.count(n) && any_match(pats, n)) {
          rows.push_back(row{n, "\\NonExistent \\Subscribed", false, {}});
        }
      }
    }
    for (auto& r : rows) {
      deleted.push_back(r.selectable && want_deleted ? count_deleted(s, r.st.id) : 0);
    }
    return {};
  });
  if (err) {
    co_return storage_failure(err, "LIST");
  }
  std::size_t i = 0;
  for (const auto& r : rows) {
    std::string line = "* LIST (" + r.attrs + ") \"/\" ";
    s.append_mailbox(line, r.name);
    line += "\r\n";
    if (want_status && r.selectable) {
      line += "* STATUS ";
      s.append_mailbox(line, r.name);
      line += " " + status_items(r.st, a->return_status, deleted[i]) + "\r\n";
    }
    s.out(line);
    ++i;
    if (!co_await s.maybe_flush()) {
      co_return reply::no("Connection lost");
    }
  }
  co_return reply::ok("LIST completed");
}

asio::awaitable<reply> lsub(session& s, command& c) {
  auto a = proto::parse_list(c.lex, true);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  std::string pat;
  if (!full_pattern(s, a->reference, a->patterns[0], pat)) {
    co_return reply::no("[CANNOT] Invalid mailbox pattern encoding");
  }
  auto subs = co_await s.work([&] { return s.store().subscriptions(s.account.id); });
  if (!subs) {
    co_return storage_failure(subs.error(), "LSUB");
  }
  for (const auto& n : *subs) {
    if (matches(pat, n)) {
      std::string line = "* LSUB () \"/\" ";
      s.append_mailbox(line, n);
      s.out(line + "\r\n");
    }
  }
  co_return reply::ok("LSUB completed");
}

}  // namespace homthu::imap::cmd
