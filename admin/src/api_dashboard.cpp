// /api/v1/dashboard (accounts active/disabled, storage used, queue size and
// oldest item, directory health) and /api/v1/queue (list, one message with
// its header fields, retry, delete).
// The queue is province-wide, so only province administrators (and
// auditors, read-only) see it; it is read through storage's queue records,
// never through smtp/.
#include "api.hpp"

#include <set>

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

bool sees_queue(const principal& p) { return p.role == "province-admin" || p.role == "auditor"; }

json::object recipient_json(const storage::queue_recipient& r) {
  json::object ro;
  ro["address"] = r.address;
  ro["state"] = r.state == storage::recipient_state::pending     ? "pending"
                : r.state == storage::recipient_state::delivered ? "delivered"
                                                                  : "failed";
  ro["attempts"] = r.attempts;
  ro["next_attempt"] = r.next_attempt;
  ro["last_attempt"] = r.last_attempt;
  ro["last_reply"] = r.last_reply;
  ro["remote_mta"] = r.remote_mta;
  return ro;
}

// Header fields as [name, value] pairs, unfolded, in order. Values are
// shown as sent (encoded words stay encoded): this is a diagnosis view.
json::array header_fields(std::string_view head) {
  json::array out;
  std::size_t pos = 0;
  while (pos < head.size()) {
    auto eol = head.find("\r\n", pos);
    auto line = head.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? head.size() : eol + 2;
    if (line.empty()) {
      break;
    }
    if ((line.front() == ' ' || line.front() == '\t') && !out.empty()) {
      auto& last = out.back().as_array();
      std::string v(last[1].as_string());
      v += " ";
      v += line.substr(line.find_first_not_of(" \t"));
      last[1] = v;
      continue;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      continue;
    }
    auto value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    json::array field;
    field.emplace_back(line.substr(0, colon));
    field.emplace_back(value);
    out.push_back(std::move(field));
  }
  return out;
}

}  // namespace

asio::awaitable<response> dashboard(call& c) {
  const std::string all_units;
  auto got = co_await visible_accounts(c, all_units);
  json::object o;
  if (auto* r = std::get_if<response>(&got)) {
    if (r->status != 503) {
      co_return *r;
    }
    o["directory"] = "unavailable";
  } else {
    const auto& all = *std::get<account_cache::list>(got);
    std::uint64_t active = 0, disabled = 0;
    for (const auto& e : all) {
      (e.acct.enabled ? active : disabled) += 1;
    }
    o["directory"] = "ok";
    json::object a;
    a["active"] = active;
    a["disabled"] = disabled;
    o["accounts"] = std::move(a);
    // Storage used by the accounts in scope; summed from per-account usage
    // and reused for a minute (it opens one database per account).
    auto& st = c.st;
    auto key = c.who.account_id;
    std::optional<std::uint64_t> used;
    {
      std::lock_guard lock(st.usage_mu);
      if (auto it = st.usage_cache.find(key);
          it != st.usage_cache.end() && clock_type::now() - it->second.first < std::chrono::minutes(1)) {
        used = it->second.second;
      }
    }
    if (!used) {
      auto list = std::get<account_cache::list>(got);
      used = co_await st.svc.workers.run([&st, &list] {
        std::uint64_t sum = 0;
        std::set<std::string> ids;
        for (const auto& e : *list) {
          ids.insert(e.acct.id);
        }
        auto with_data = st.svc.store.accounts();
        if (with_data) {
          for (const auto& id : *with_data) {
            if (ids.count(id)) {
              if (auto u = st.svc.store.usage(id)) {
                sum += u->bytes;
              }
            }
          }
        }
        return sum;
      });
      std::lock_guard lock(st.usage_mu);
      st.usage_cache[key] = {clock_type::now(), *used};
    }
    o["storage_bytes"] = *used;
  }
  auto* q = c.st.svc.queue;
  if (q && sees_queue(c.who)) {
    auto& st = c.st;
    auto msgs = co_await st.svc.workers.run([&q] { return q->list(); });
    if (msgs) {
      json::object qo;
      qo["size"] = msgs->size();
      qo["oldest"] = msgs->empty() ? json::value(nullptr) : json::value(msgs->front().created);
      o["queue"] = std::move(qo);
    }
  } else {
    o["queue"] = nullptr;
  }
  co_return json_reply(o);
}

asio::awaitable<response> queue_list(call& c) {
  auto* q = c.st.svc.queue;
  if (!q) {
    co_return json_error(503, "the outbound queue is not available in this server");
  }
  if (!sees_queue(c.who)) {
    co_return json_error(403, "the queue is visible to province administrators and auditors only");
  }
  std::string filter = c.req.query.count("q") ? common::to_lower_ascii(c.req.query.at("q")) : "";
  auto msgs = co_await c.st.svc.workers.run([&q] { return q->list(); });
  if (!msgs) {
    co_return dir_error_reply(msgs.error(), "");
  }
  json::array arr;
  for (const auto& m : *msgs) {
    bool hit = filter.empty() || common::to_lower_ascii(m.sender).find(filter) != std::string::npos;
    json::array rc;
    for (const auto& r : m.recipients) {
      hit = hit || common::to_lower_ascii(r.address).find(filter) != std::string::npos;
      rc.push_back(recipient_json(r));
    }
    if (!hit || arr.size() >= 500) {
      continue;
    }
    json::object o;
    o["id"] = m.id;
    o["sender"] = m.sender;
    o["created"] = m.created;
    o["size"] = m.size;
    o["recipients"] = std::move(rc);
    arr.push_back(std::move(o));
  }
  json::object o;
  o["total"] = msgs->size();
  o["messages"] = std::move(arr);
  co_return json_reply(o);
}

// One queued message with its header fields (never the body: administrators
// diagnose delivery, they do not read the mail) and its last error.
asio::awaitable<response> queue_get(call& c) {
  auto* q = c.st.svc.queue;
  if (!q) {
    co_return json_error(503, "the outbound queue is not available in this server");
  }
  if (!sees_queue(c.who)) {
    co_return json_error(403, "the queue is visible to province administrators and auditors only");
  }
  std::int64_t id = 0;
  try {
    id = std::stoll(c.params.at("id"));
  } catch (const std::exception&) {
    co_return field_reply({"id", "id: not a queue id"});
  }
  auto m = co_await c.st.svc.workers.run([&q, &id] { return q->get(id); });
  if (!m && m.error() == storage::error::not_found) {
    co_return json_error(404, "no such message in the queue");
  }
  if (!m) {
    co_return dir_error_reply(m.error(), "");
  }
  auto head = co_await c.st.svc.workers.run([&q, &id] { return q->read_headers(id, 64u << 10); });
  json::object o;
  o["id"] = m->id;
  o["sender"] = m->sender;
  o["created"] = m->created;
  o["size"] = m->size;
  o["received_from"] = m->received_from;
  o["submitter"] = m->submitter;
  json::array rc;
  const storage::queue_recipient* last = nullptr;
  for (const auto& r : m->recipients) {
    rc.push_back(recipient_json(r));
    // The newest failure; on a tie, a recipient still pending (what keeps
    // the message in the queue) before one that has failed for good.
    const bool pending = r.state == storage::recipient_state::pending;
    if (r.state != storage::recipient_state::delivered && !r.last_reply.empty() &&
        (!last || r.last_attempt > last->last_attempt ||
         (r.last_attempt == last->last_attempt && pending && last->state != storage::recipient_state::pending))) {
      last = &r;
    }
  }
  o["recipients"] = std::move(rc);
  if (last) {
    json::object e;
    e["recipient"] = last->address;
    e["time"] = last->last_attempt;
    e["reply"] = last->last_reply;
    e["remote_mta"] = last->remote_mta;
    o["last_error"] = std::move(e);
  } else {
    o["last_error"] = nullptr;
  }
  o["headers"] = head ? header_fields(*head) : json::array{};
  co_return json_reply(o);
}

namespace {

asio::awaitable<response> queue_change(call& c, bool remove) {
  auto* q = c.st.svc.queue;
  c.audit_target = c.params.at("id");
  if (!q) {
    co_return json_error(503, "the outbound queue is not available in this server");
  }
  if (c.who.role != "province-admin") {
    co_return json_error(403, "only province administrators change the queue");
  }
  std::int64_t id = 0;
  try {
    id = std::stoll(c.params.at("id"));
  } catch (const std::exception&) {
    co_return field_reply({"id", "id: not a queue id"});
  }
  auto r = co_await c.st.svc.workers.run([&q, &id, remove] { return remove ? q->remove(id) : q->retry(id); });
  if (!r && r.error() == storage::error::not_found) {
    co_return json_error(404, "no such message in the queue");
  }
  if (!r) {
    co_return dir_error_reply(r.error(), "");
  }
  response out;
  out.status = 204;
  co_return out;
}

}  // namespace

asio::awaitable<response> queue_retry(call& c) { co_return co_await queue_change(c, false); }
asio::awaitable<response> queue_delete(call& c) { co_return co_await queue_change(c, true); }

}  // namespace homthu::admin
