// /api/v1/delivery-log ("where did my mail go": every hop of the messages
// matching a sender, recipient, Message-ID or time range),
// /api/v1/delivery-log/failures (the dashboard's latest bounces and
// deferrals) and /api/v1/stats/mail-flow (the dashboard's charts), all read
// from storage's delivery log. Trusts nothing from the query string (bounded,
// validated text and numbers). Province administrators and auditors see
// every row; a unit administrator sees the rows whose sender or recipient is
// an address (or alias) of an account they may read — the same list the
// account search uses, so the two cannot disagree.
#include "api.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

bool sees_all(const principal& p) { return p.role == "province-admin" || p.role == "auditor"; }

using address_set = std::shared_ptr<const std::unordered_set<std::string>>;

// The caller's row filter: null for everybody's mail, else the addresses in
// their scope. Errors as a reply.
asio::awaitable<std::variant<address_set, response>> scope_of(call& c) {
  if (sees_all(c.who)) {
    co_return address_set{};
  }
  if (c.who.role != "unit-admin") {
    co_return json_error(403, "the delivery log is for administrators and auditors");
  }
  const std::string all_units;
  auto got = co_await visible_accounts(c, all_units);
  if (auto* r = std::get_if<response>(&got)) {
    co_return *r;
  }
  auto set = std::make_shared<std::unordered_set<std::string>>();
  for (const auto& e : *std::get<account_cache::list>(got)) {
    set->insert(common::to_lower_ascii(e.acct.address));
    for (const auto& a : e.acct.aliases) {
      set->insert(common::to_lower_ascii(a));
    }
  }
  co_return address_set(set);
}

std::function<bool(const storage::delivery_event&)> filter_of(const address_set& scope) {
  if (!scope) {
    return nullptr;
  }
  return [scope](const storage::delivery_event& e) {
    return scope->count(e.sender) != 0 || scope->count(e.recipient) != 0;
  };
}

json::object event_json(const storage::delivery_event& e) {
  json::object o;
  o["id"] = e.id;
  o["time_ms"] = e.time_ms;
  o["kind"] = e.kind;
  o["recipient"] = e.recipient;
  o["via"] = e.via;
  o["client"] = e.client;
  o["user"] = e.user;
  o["listener"] = e.listener;
  o["remote"] = e.remote;
  o["reply"] = e.reply;
  o["next_attempt_ms"] = e.next_attempt_ms;
  o["queue_id"] = e.queue_id;
  o["size"] = e.size;
  o["detail"] = e.detail;
  return o;
}

}  // namespace

asio::awaitable<response> delivery_log_search(call& c) {
  auto* log = c.st.svc.delivery_log;
  if (!log) {
    co_return json_error(503, "the delivery log is not available in this server");
  }
  auto get = [&](const char* k) { return c.req.query.count(k) ? c.req.query.at(k) : std::string{}; };
  storage::delivery_query q;
  q.sender = common::to_lower_ascii(get("sender"));
  q.recipient = common::to_lower_ascii(get("recipient"));
  q.message_id = get("message_id");
  q.trace = get("trace");
  for (const auto* s : {&q.sender, &q.recipient, &q.message_id, &q.trace}) {
    if (s->size() > 998 || !is_clean_text(*s)) {
      co_return field_reply({"", "sender, recipient, message_id, trace: at most 998 bytes of text each"});
    }
  }
  auto since = query_number(c.req.query, "since", 0, 0, std::size_t(1) << 52);
  auto until = query_number(c.req.query, "until", 0, 0, std::size_t(1) << 52);
  auto limit = query_number(c.req.query, "limit", 50, 1, 200);
  auto cursor = query_number(c.req.query, "cursor", 0, 0, std::size_t(1) << 62);
  if (!since || !until || !limit || !cursor) {
    co_return field_reply({"", "since, until, limit, cursor: whole numbers (times in Unix milliseconds)"});
  }
  q.since_ms = static_cast<std::int64_t>(*since);
  q.until_ms = static_cast<std::int64_t>(*until);
  q.limit = *limit;
  q.cursor = static_cast<std::int64_t>(*cursor);
  auto scope = co_await scope_of(c);
  if (auto* r = std::get_if<response>(&scope)) {
    co_return *r;
  }
  q.visible = filter_of(std::get<address_set>(scope));
  auto page = co_await c.st.svc.workers.run([log, &q] { return log->search(q); });
  if (!page) {
    co_return dir_error_reply(page.error(), "");
  }
  json::array messages;
  for (const auto& m : page->messages) {
    json::object o;
    o["trace"] = m.trace;
    std::string message_id, sender;
    json::array events;
    for (const auto& e : m.events) {
      if (message_id.empty()) {
        message_id = e.message_id;
      }
      if (sender.empty()) {
        sender = e.sender;
      }
      events.push_back(event_json(e));
    }
    o["message_id"] = message_id;
    o["sender"] = sender;
    o["events"] = std::move(events);
    o["omitted"] = m.omitted;
    messages.push_back(std::move(o));
  }
  json::object o;
  o["messages"] = std::move(messages);
  o["next_cursor"] = page->next_cursor ? json::value(std::to_string(page->next_cursor)) : json::value(nullptr);
  co_return json_reply(o);
}

asio::awaitable<response> mail_flow(call& c) {
  auto* log = c.st.svc.delivery_log;
  if (!log) {
    co_return json_error(503, "the delivery log is not available in this server");
  }
  const std::string range = c.req.query.count("range") ? c.req.query.at("range") : "24h";
  if (range != "24h" && range != "7d") {
    co_return field_reply({"range", "range: 24h or 7d"});
  }
  // Day buckets start at midnight in the caller's time zone (minutes east of
  // UTC; the console sends its own, Viet Nam is 420).
  int tz = 420;
  if (c.req.query.count("tz_offset")) {
    const auto& t = c.req.query.at("tz_offset");
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), tz);
    if (ec != std::errc{} || end != t.data() + t.size() || tz < -840 || tz > 840) {
      co_return field_reply({"tz_offset", "tz_offset: minutes east of UTC, -840 to 840"});
    }
  }
  const std::int64_t offset_ms = static_cast<std::int64_t>(tz) * 60'000;
  const std::int64_t hour = 3'600'000, day = 24 * hour;
  const bool hourly = range == "24h";
  const std::int64_t bucket = hourly ? hour : day;
  const std::size_t count = hourly ? 24 : 7;
  const auto now = now_ms();
  // The last bucket is the current (partial) hour or day.
  const std::int64_t current = ((now + offset_ms) / bucket) * bucket - offset_ms;
  const std::int64_t origin = current - static_cast<std::int64_t>(count - 1) * bucket;
  auto scope = co_await scope_of(c);
  if (auto* r = std::get_if<response>(&scope)) {
    co_return *r;
  }
  auto visible = filter_of(std::get<address_set>(scope));
  auto flow = co_await c.st.svc.workers.run(
      [log, origin, bucket, count, &visible] { return log->flow(origin, bucket, count, visible); });
  if (!flow) {
    co_return dir_error_reply(flow.error(), "");
  }
  json::array buckets;
  for (const auto& b : *flow) {
    json::object o;
    o["start_ms"] = b.start_ms;
    o["received"] = b.received;
    o["delivered"] = b.delivered;
    o["relayed"] = b.relayed;
    o["deferred"] = b.deferred;
    o["bounced"] = b.bounced;
    o["rejected"] = b.rejected;
    buckets.push_back(std::move(o));
  }
  json::object o;
  o["range"] = range;
  o["bucket_ms"] = bucket;
  o["buckets"] = std::move(buckets);
  co_return json_reply(o);
}

// The latest bounced and deferred hops of the last 7 days the caller may
// see, newest first: a search whose row filter keeps only failures (the
// same scope filter as the search, so a unit administrator sees their
// units' failures only).
asio::awaitable<response> delivery_failures(call& c) {
  auto* log = c.st.svc.delivery_log;
  if (!log) {
    co_return json_error(503, "the delivery log is not available in this server");
  }
  auto limit = query_number(c.req.query, "limit", 10, 1, 50);
  if (!limit) {
    co_return field_reply({"limit", "limit: a whole number, 1 to 50"});
  }
  auto scope = co_await scope_of(c);
  if (auto* r = std::get_if<response>(&scope)) {
    co_return *r;
  }
  auto in_scope = filter_of(std::get<address_set>(scope));
  storage::delivery_query q;
  q.since_ms = now_ms() - 7 * 24 * 3'600'000LL;
  q.limit = *limit;
  q.visible = [in_scope](const storage::delivery_event& e) {
    return (e.kind == storage::delivery_kind::bounced || e.kind == storage::delivery_kind::deferred) &&
           (!in_scope || in_scope(e));
  };
  auto page = co_await c.st.svc.workers.run([log, &q] { return log->search(q); });
  if (!page) {
    co_return dir_error_reply(page.error(), "");
  }
  std::vector<const storage::delivery_event*> rows;
  for (const auto& m : page->messages) {
    for (const auto& e : m.events) {
      rows.push_back(&e);
    }
  }
  std::sort(rows.begin(), rows.end(), [](auto* a, auto* b) { return a->id > b->id; });
  json::array arr;
  for (const auto* e : rows) {
    if (arr.size() >= *limit) {
      break;
    }
    auto o = event_json(*e);
    o["sender"] = e->sender;
    o["message_id"] = e->message_id;
    o["trace"] = e->trace;
    arr.push_back(std::move(o));
  }
  json::object o;
  o["failures"] = std::move(arr);
  co_return json_reply(o);
}

}  // namespace homthu::admin
