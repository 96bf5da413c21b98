// THREAD=REFERENCES (RFC 5256 §4): threads built from Message-ID,
// References and In-Reply-To; empty containers pruned; siblings ordered by
// sent date. Not done: the subject-merging step (§4 step 5), so replies
// without References form threads of their own. Work is linear in the
// message and reference count; recursion depth is bounded.
#include "commands.hpp"

#include <algorithm>
#include <functional>
#include <unordered_map>

namespace homthu::imap::cmd {

namespace {

struct node {
  int msg = -1;                 // index into the result, -1 for a placeholder
  node* parent = nullptr;
  std::vector<node*> children;
  std::int64_t date = 0;
};

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
          auto i = idx[0];
          (void)i;
          auto uid = (*metas)[static_cast<std::size_t>(n->msg)].entry.uid;
          auto num = c.uid ? uid : s.sel->seq_of(uid);
          o += (o.empty() ? "" : " ") + std::to_string(num);
        }
        if (n->children.size() == 1) {
          n = n->children[0];
          continue;
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
