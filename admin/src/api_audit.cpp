// /api/v1/audit (read-only: the log has no route that edits it) and
// /api/v1/tokens (API tokens for scripts: scoped read or write, revocable,
// kept as a SHA-256 digest of the secret). Province administrators and
// auditors read the whole audit log; a unit administrator reads their own
// actions.
#include "api.hpp"

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<response> audit_list(call& c) {
  storage::audit_query q;
  auto get = [&](const char* k) { return c.req.query.count(k) ? c.req.query.at(k) : std::string{}; };
  q.actor = get("actor");
  q.action = get("action");
  q.target = get("target");
  for (const auto* s : {&q.actor, &q.action, &q.target}) {
    if (s->size() > 320 || !is_clean_text(*s)) {
      co_return field_reply({"", "filters: at most 320 bytes of text each"});
    }
  }
  auto since = query_number(c.req.query, "since", 0, 0, std::size_t(1) << 52);
  auto until = query_number(c.req.query, "until", 0, 0, std::size_t(1) << 52);
  auto offset = query_number(c.req.query, "offset", 0, 0, 1u << 30);
  auto limit = query_number(c.req.query, "limit", 100, 1, 1000);
  if (!since || !until || !offset || !limit) {
    co_return field_reply({"", "since, until, offset, limit: whole numbers (times in Unix milliseconds)"});
  }
  q.since_ms = static_cast<std::int64_t>(*since);
  q.until_ms = static_cast<std::int64_t>(*until);
  q.offset = *offset;
  q.limit = *limit;
  if (c.who.role != "province-admin" && c.who.role != "auditor") {
    if (!q.actor.empty() && q.actor != c.who.account_id) {
      co_return json_error(403, "you may read your own actions only");
    }
    q.actor = c.who.account_id;
  }
  auto& st = c.st;
  auto page = co_await st.svc.workers.run([&st, &q] { return st.records->query(q); });
  if (!page) {
    co_return dir_error_reply(page.error(), "");
  }
  json::array arr;
  for (const auto& r : page->records) {
    json::object o;
    o["id"] = r.id;
    o["time_ms"] = r.time_ms;
    o["actor"] = r.actor;
    o["action"] = r.action;
    o["target"] = r.target;
    o["client"] = r.client;
    o["outcome"] = r.outcome;
    json::error_code ec;
    auto d = json::parse(r.detail, ec);
    o["detail"] = ec ? json::value(r.detail) : d;
    arr.push_back(std::move(o));
  }
  json::object o;
  o["total"] = page->total;
  o["offset"] = q.offset;
  o["limit"] = q.limit;
  o["records"] = std::move(arr);
  co_return json_reply(o);
}

namespace {

json::object token_json(const storage::api_token& t) {
  json::object o;
  o["id"] = t.id;
  o["owner"] = t.owner;
  o["label"] = t.label;
  o["scope"] = t.scope;
  o["created_ms"] = t.created_ms;
  o["last_used_ms"] = t.last_used_ms;
  o["revoked"] = t.revoked;
  return o;
}

}  // namespace

asio::awaitable<response> tokens_list(call& c) {
  auto& st = c.st;
  auto owner = c.who.role == "province-admin" ? std::string{} : c.who.account_id;
  auto r = co_await st.svc.workers.run([&st, &owner] { return st.records->list_tokens(owner); });
  if (!r) {
    co_return dir_error_reply(r.error(), "");
  }
  json::array arr;
  for (const auto& t : *r) {
    arr.push_back(token_json(t));
  }
  json::object o;
  o["tokens"] = std::move(arr);
  co_return json_reply(o);
}

asio::awaitable<response> token_create(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    co_return field_reply(*fe);
  }
  const auto& b = std::get<json::object>(parsed);
  if (auto fe = only_fields(b, {"label", "scope"})) {
    co_return field_reply(*fe);
  }
  auto label = get_string(b, "label", 100, true);
  auto scope = get_string(b, "scope", 16, true);
  if (auto* fe = std::get_if<field_error>(&label)) {
    co_return field_reply(*fe);
  }
  if (auto* fe = std::get_if<field_error>(&scope)) {
    co_return field_reply(*fe);
  }
  if (*std::get<0>(scope) != "read" && *std::get<0>(scope) != "write") {
    co_return field_reply({"scope", "scope: read or write"});
  }
  if (*std::get<0>(scope) == "write" && c.who.role == "auditor") {
    co_return json_error(403, "an auditor may only make read tokens");
  }
  storage::api_token t;
  t.id = random_token(9);
  t.owner = c.who.account_id;
  t.label = *std::get<0>(label);
  t.scope = *std::get<0>(scope);
  t.created_ms = now_ms();
  std::string secret = random_token(32);
  t.secret_sha256 = sha256_hex(secret);
  c.audit_target = t.id;
  c.audit_detail["label"] = t.label;
  c.audit_detail["scope"] = t.scope;
  auto& st = c.st;
  auto r = co_await st.svc.workers.run([&st, &t] { return st.records->add_token(t); });
  if (!r) {
    co_return dir_error_reply(r.error(), "");
  }
  auto o = token_json(t);
  o["token"] = "hmt_" + t.id + "." + secret;  // shown once
  co_return json_reply(o, 201);
}

asio::awaitable<response> token_revoke(call& c) {
  auto& st = c.st;
  auto id = c.params.at("id");
  c.audit_target = id;
  auto t = co_await st.svc.workers.run([&st, &id] { return st.records->find_token(id); });
  if (!t || (t->owner != c.who.account_id && c.who.role != "province-admin")) {
    co_return json_error(404, "no such token");
  }
  auto r = co_await st.svc.workers.run([&st, &id] { return st.records->revoke_token(id); });
  if (!r) {
    co_return dir_error_reply(r.error(), "");
  }
  response out;
  out.status = 204;
  co_return out;
}

}  // namespace homthu::admin
