// THREAD=REFERENCES (RFC 5256 §4): threads built from Message-ID,
// References and In-Reply-To; empty containers pruned; threads at the root
// with the same base subject gathered (step 5, so a reply whose client lost
// its References still joins its thread); siblings ordered by sent date.
// Work is linear in the message and reference count; recursion depth is
// bounded.
#include "commands.hpp"
#include "homthu/common/address.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

namespace homthu::imap::cmd {

namespace {

struct node {
  int msg = -1;                 // index into the result, -1 for a placeholder
  node* parent = nullptr;
  std::vector<node*> children;
  std::int64_t date = 0;
};

// RFC 5256 §2.1: a reply or forward is a subject from which extracting the
// base subject removed a "Re:"/"Fw:"/"Fwd:" (perhaps after "[blob]") or a
// "(fwd)" trailer.
bool reply_or_forward(std::string_view subject) {
  std::string s = common::to_lower_ascii(subject);
  auto trim = [&s] {
    const auto a = s.find_first_not_of(" \t");
    const auto b = s.find_last_not_of(" \t");
    s = a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
  };
  trim();
  if (s.size() >= 5 && s.compare(s.size() - 5, 5, "(fwd)") == 0) {
    return true;
  }
  while (!s.empty() && s[0] == '[') {  // subj-blob
    const auto close = s.find(']');
    if (close == std::string::npos) {
      break;
    }
    s.erase(0, close + 1);
    trim();
  }
  for (std::string_view p : {"re", "fwd", "fw"}) {
    if (s.compare(0, p.size(), p) != 0) {
      continue;
    }
    auto rest = std::string_view(s).substr(p.size());
    if (!rest.empty() && rest[0] == '[') {  // "Re[2]:"
      const auto close = rest.find(']');
      rest = close == std::string_view::npos ? std::string_view() : rest.substr(close + 1);
    }
    rest.remove_prefix(std::min(rest.find_first_not_of(" \t"), rest.size()));
    if (!rest.empty() && rest[0] == ':') {
      return true;
    }
  }
  return false;
}

std::vector<std::string> message_ids(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (out.size() < 1000) {
    auto lt = s.find('<', i);
    if (lt == std::string_view::npos) {
      break;
    }
    auto gt = s.find('>', lt);
    if (gt == std::string_view::npos) {
      break;
    }
    out.emplace_back(s.substr(lt, gt - lt + 1));
    i = gt + 1;
  }
  return out;
}

bool is_ancestor(const node* a, const node* b) {
  // true when a is b or one of b's ancestors (bounded by the tree height)
  for (int guard = 0; b && guard < 100000; ++guard, b = b->parent) {
    if (a == b) {
      return true;
    }
  }
  return false;
}

void link(node* parent, node* child) {
  if (child->parent == parent || is_ancestor(child, parent)) {
    return;
  }
  if (child->parent) {
    auto& sib = child->parent->children;
    sib.erase(std::remove(sib.begin(), sib.end(), child), sib.end());
  }
  child->parent = parent;
  parent->children.push_back(child);
}

}  // namespace

asio::awaitable<reply> thread(session& s, command& c) {
  auto a = proto::parse_thread(c.lex);
  if (!a) {
    co_return reply::bad(c.lex.error());
  }
  if (a->algorithm != "REFERENCES") {
    co_return reply::bad("Unsupported threading algorithm");
  }
  if (!charset_ok(a->charset)) {
    co_return reply::no("[BADCHARSET (US-ASCII UTF-8)] Unsupported charset");
  }
  std::string error;
  std::string result;
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
      error = "[UNAVAILABLE] Thread failed, try again";
      return 0;
    }
    std::vector<std::unique_ptr<node>> pool;
    std::unordered_map<std::string, node*> by_id;
    auto container = [&](const std::string& id) {
      auto it = by_id.find(id);
      if (it != by_id.end()) {
        return it->second;
      }
      pool.push_back(std::make_unique<node>());
      by_id[id] = pool.back().get();
      return pool.back().get();
    };
    for (std::size_t m = 0; m < metas->size(); ++m) {
      const auto& meta = (*metas)[m];
      auto ids = message_ids(meta.message_id);
      node* self = nullptr;
      if (!ids.empty() && container(ids[0])->msg < 0) {
        self = container(ids[0]);
      } else {
        // No or duplicate Message-ID: a container of its own (RFC 5256 step 1A).
        pool.push_back(std::make_unique<node>());
        self = pool.back().get();
      }
      self->msg = static_cast<int>(m);
      self->date = meta.sent_date ? meta.sent_date : meta.entry.internal_date;
      auto refs = message_ids(meta.references);
      if (refs.empty()) {
        auto irt = message_ids(meta.in_reply_to);
        if (!irt.empty()) {
          refs.push_back(irt[0]);
        }
      }
      node* prev = nullptr;
      for (const auto& r : refs) {
        node* cur = container(r);
        if (prev && !cur->parent) {
          link(prev, cur);
        }
        prev = cur;
      }
      if (prev && prev != self) {
        link(prev, self);
      } else if (self->parent && refs.empty()) {
        auto& sib = self->parent->children;
        sib.erase(std::remove(sib.begin(), sib.end(), self), sib.end());
        self->parent = nullptr;
      }
    }
    // Prune placeholders (step 4) and order siblings by date (step 6).
    std::function<std::vector<node*>(std::vector<node*>, bool, int)> prune =
        [&](std::vector<node*> list, bool at_root, int depth) {
          std::vector<node*> out;
          for (node* n : list) {
            if (depth < 500) {
              n->children = prune(n->children, false, depth + 1);
            }
            if (n->msg < 0) {
              if (n->children.empty()) {
                continue;
              }
              if (!at_root || n->children.size() == 1) {
                for (node* ch : n->children) {
                  ch->parent = n->parent;
                  out.push_back(ch);
                }
                continue;
              }
            }
            out.push_back(n);
          }
          return out;
        };
    std::vector<node*> roots;
    for (auto& p : pool) {
      if (!p->parent) {
        roots.push_back(p.get());
      }
    }
    roots = prune(roots, true, 0);
    // Step 5: threads at the root with the same base subject are gathered.
    auto thread_subject = [&](node* n) -> std::string_view {
      node* m = n->msg >= 0 || n->children.empty() ? n : n->children.front();
      return m->msg >= 0 ? std::string_view((*metas)[static_cast<std::size_t>(m->msg)].base_subject)
                         : std::string_view();
    };
    auto is_reply = [&](node* n) {
      return n->msg >= 0 && reply_or_forward((*metas)[static_cast<std::size_t>(n->msg)].subject);
    };
    std::unordered_map<std::string_view, node*> table;
    for (node* r : roots) {
      const auto subject = thread_subject(r);
      if (subject.empty()) {
        continue;
      }
      auto [it, added] = table.emplace(subject, r);
      if (!added && it->second->msg >= 0 && (r->msg < 0 || (is_reply(it->second) && !is_reply(r)))) {
        it->second = r;
      }
    }
    std::vector<node*> gathered;
    std::unordered_set<node*> dropped;
    for (node* r : roots) {
      const auto subject = thread_subject(r);
      const auto it = subject.empty() ? table.end() : table.find(subject);
      if (it == table.end() || it->second == r) {
        continue;
      }
      node* t = it->second;
      if (t->msg < 0 && r->msg < 0) {
        const auto children = r->children;  // link() takes each out of r
        for (node* ch : children) {
          link(t, ch);
        }
        dropped.insert(r);
      } else if (t->msg < 0 || (is_reply(r) && !is_reply(t))) {
        link(t, r);
      } else {
        pool.push_back(std::make_unique<node>());
        node* dummy = pool.back().get();
        link(dummy, t);
        link(dummy, r);
        gathered.push_back(dummy);
        it->second = dummy;
      }
    }
    roots.insert(roots.end(), gathered.begin(), gathered.end());
    std::erase_if(roots, [&dropped](node* n) { return n->parent != nullptr || dropped.contains(n); });
    std::function<std::int64_t(node*)> first_date = [&](node* n) {
      if (n->msg >= 0 || n->children.empty()) {
        return n->date;
      }
      std::int64_t d = INT64_MAX;
      for (auto* ch : n->children) {
        d = std::min(d, ch->date);
      }
      return d;
    };
    auto by_date = [&](node* x, node* y) {
      auto dx = first_date(x), dy = first_date(y);
      return dx != dy ? dx < dy : x->msg < y->msg;
    };
    std::function<std::string(node*, int)> show = [&](node* n, int depth) {
      std::string o;
      for (int guard = 0; n && guard < 100000; ++guard) {
        std::sort(n->children.begin(), n->children.end(), by_date);
        if (n->msg >= 0) {
          auto uid = (*metas)[static_cast<std::size_t>(n->msg)].entry.uid;
          auto num = c.uid ? uid : s.sel->seq_of(uid);
          o += (o.empty() ? "" : " ") + std::to_string(num);
        }
        if (n->children.size() == 1) {
          n = n->children[0];
          continue;
        }
        if (!o.empty() && !n->children.empty()) {
          o += ' ';  // thread-members SP thread-nested (RFC 5256 §5)
        }
        for (auto* ch : n->children) {
          o += "(" + (depth < 500 ? show(ch, depth + 1) : std::string()) + ")";
        }
        break;
      }
      return o;
    };
    std::sort(roots.begin(), roots.end(), by_date);
    for (auto* r : roots) {
      result += "(" + show(r, 0) + ")";
    }
    return 0;
  });
  if (!error.empty()) {
    co_return reply::no(error);
  }
  s.out(result.empty() ? std::string("* THREAD\r\n") : "* THREAD " + result + "\r\n");
  co_return reply::ok("THREAD completed");
}

}  // namespace homthu::imap::cmd
