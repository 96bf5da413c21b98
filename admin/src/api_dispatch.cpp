// The REST API's front door: one table says, for each route, whether it
// needs a signed-in caller, whether it changes state (then: CSRF token for
// cookie sessions, write scope for API tokens, same-origin, an audit record)
// and whether API tokens may use it at all. Trusts nothing from the client;
// authorisation of the operation itself happens in directory_admin, which
// knows each actor's role and units. A session made for a province
// administrator who must first enrol a second factor ([admin]
// require_totp_for_province_admins) reaches only the routes marked
// `enrolment`.
#include "api.hpp"

#include "homthu/common/log.hpp"

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

enum route_flags : unsigned {
  open = 1,          // no sign-in needed
  write = 2,         // changes state: CSRF/scope checks, audited
  session_only = 4,  // not with an API token
  audited = 8,       // audited though not a write by the rules above (sign-in)
  enrolment = 16,    // open to an enrol-only session (second factor required)
};

struct route_entry {
  std::string_view method;
  std::string_view pattern;
  handler fn;
  unsigned flags;
  std::string_view action;  // audit action name
};

const route_entry routes[] = {
    {"POST", "/api/v1/session", session_create, open | audited, "session.create"},
    {"DELETE", "/api/v1/session", session_delete, write | session_only | enrolment, "session.delete"},
    {"GET", "/api/v1/me", me, enrolment, ""},
    {"POST", "/api/v1/me/totp", totp_begin, write | session_only | enrolment, "totp.enrol"},
    {"POST", "/api/v1/me/totp/confirm", totp_confirm, write | session_only | enrolment, "totp.enable"},
    {"POST", "/api/v1/me/totp/disable", totp_disable, write | session_only, "totp.disable"},
    {"GET", "/api/v1/dashboard", dashboard, 0, ""},
    {"GET", "/api/v1/accounts", accounts_list, 0, ""},
    {"POST", "/api/v1/accounts", account_create, write, "account.create"},
    {"GET", "/api/v1/accounts/{id}", account_get, 0, ""},
    {"PATCH", "/api/v1/accounts/{id}", account_patch, write, "account.modify"},
    {"DELETE", "/api/v1/accounts/{id}", account_delete, write, "account.delete"},
    {"POST", "/api/v1/accounts/{id}/password", account_password, write, "account.password"},
    {"DELETE", "/api/v1/accounts/{id}/totp", totp_reset, write | session_only, "account.totp.reset"},
    {"POST", "/api/v1/accounts/{id}/enable", account_enable, write, "account.enable"},
    {"POST", "/api/v1/accounts/{id}/disable", account_disable, write, "account.disable"},
    {"POST", "/api/v1/accounts/{id}/aliases", alias_add, write, "account.alias.add"},
    {"DELETE", "/api/v1/accounts/{id}/aliases/{alias}", alias_remove, write, "account.alias.remove"},
    {"GET", "/api/v1/accounts/{id}/app-passwords", app_passwords_list, 0, ""},
    {"POST", "/api/v1/accounts/{id}/app-passwords", app_password_add, write, "account.app_password.add"},
    {"DELETE", "/api/v1/accounts/{id}/app-passwords/{pid}", app_password_revoke, write,
     "account.app_password.revoke"},
    {"GET", "/api/v1/units", units_list, 0, ""},
    {"GET", "/api/v1/admins", admins_list, 0, ""},
    {"POST", "/api/v1/units/{id}/admins", unit_admin_grant, write, "unit.admin.grant"},
    {"DELETE", "/api/v1/units/{id}/admins/{account}", unit_admin_revoke, write, "unit.admin.revoke"},
    {"GET", "/api/v1/lists", lists_list, 0, ""},
    {"POST", "/api/v1/lists", list_create, write, "list.create"},
    {"GET", "/api/v1/lists/{address}", list_get, 0, ""},
    {"PATCH", "/api/v1/lists/{address}", list_patch, write, "list.modify"},
    {"DELETE", "/api/v1/lists/{address}", list_delete, write, "list.delete"},
    {"POST", "/api/v1/lists/{address}/members", list_member_add, write, "list.member.add"},
    {"DELETE", "/api/v1/lists/{address}/members/{member}", list_member_remove, write, "list.member.remove"},
    {"POST", "/api/v1/imports", import_create, write, "import.upload"},
    {"GET", "/api/v1/imports/{id}", import_get, 0, ""},
    {"POST", "/api/v1/imports/{id}/confirm", import_confirm, write, "import.confirm"},
    {"GET", "/api/v1/imports/{id}/result.csv", import_result, 0, ""},
    {"GET", "/api/v1/audit", audit_list, 0, ""},
    {"GET", "/api/v1/tokens", tokens_list, session_only, ""},
    {"POST", "/api/v1/tokens", token_create, write | session_only, "token.create"},
    {"DELETE", "/api/v1/tokens/{id}", token_revoke, write | session_only, "token.revoke"},
    {"GET", "/api/v1/queue", queue_list, 0, ""},
    {"GET", "/api/v1/queue/{id}", queue_get, 0, ""},
    {"GET", "/api/v1/delivery-log", delivery_log_search, 0, ""},
    {"GET", "/api/v1/delivery-log/failures", delivery_failures, 0, ""},
    {"GET", "/api/v1/stats/mail-flow", mail_flow, 0, ""},
    {"POST", "/api/v1/queue/{id}/retry", queue_retry, write, "queue.retry"},
    {"DELETE", "/api/v1/queue/{id}", queue_delete, write, "queue.delete"},
};

constexpr std::string_view cookie_name = "__Host-homthu";

bool is_state_changing(std::string_view m) { return m == "POST" || m == "PUT" || m == "PATCH" || m == "DELETE"; }

std::string header(const request& req, const char* name) {
  auto it = req.headers.find(name);
  return it == req.headers.end() ? std::string{} : it->second;
}

// W1: a browser adds Origin to cross-origin (and same-origin) POSTs; if it
// names another site, refuse before anything else. Sec-Fetch-Site is the
// same signal from newer browsers.
bool cross_origin(const request& req) {
  auto origin = header(req, "origin");
  if (!origin.empty() && origin != "null") {
    auto host = header(req, "host");
    if (origin != "https://" + host) {
      return true;
    }
  } else if (origin == "null") {
    return true;
  }
  return header(req, "sec-fetch-site") == "cross-site";
}

// Status 0: the caller is authenticated and may go on.
response accepted() {
  response r;
  r.status = 0;
  return r;
}

// Bearer tokens look like "hmt_<id>.<secret>"; only the SHA-256 of the
// secret is stored (the secret has 256 bits, so no slow hash is needed).
asio::awaitable<response> authenticate_token(call& c, std::string_view token) {
  auto unauthorized = json_error(401, "invalid or revoked API token");
  unauthorized.headers["WWW-Authenticate"] = "Bearer";
  if (token.substr(0, 4) != "hmt_" || token.size() > 200) {
    co_return unauthorized;
  }
  auto dot = token.find('.');
  if (dot == std::string_view::npos) {
    co_return unauthorized;
  }
  std::string id(token.substr(4, dot - 4));
  std::string secret(token.substr(dot + 1));
  auto& st = c.st;
  auto t = co_await st.svc.workers.run([&st, &id] { return st.records->find_token(id); });
  if (!t || t->revoked || !equal_constant_time(t->secret_sha256, sha256_hex(secret))) {
    co_return unauthorized;
  }
  auto acct = co_await st.svc.workers.run([&st, &owner = t->owner] { return st.svc.dir.find_account(owner); });
  if (!acct) {
    if (acct.error() == directory::error::unavailable) {
      auto r = json_error(503, "directory unavailable, try again");
      co_return r;
    }
    co_return unauthorized;
  }
  if (!acct->enabled) {
    co_return unauthorized;
  }
  c.who.account_id = acct->id;
  c.who.address = acct->address;
  c.who.display_name = acct->display_name;
  c.who.via_token = true;
  c.who.token_scope = t->scope;
  c.who.token_id = t->id;
  c.actor = directory::actor::account(acct->id);
  if (st.dir_admin) {
    auto* d = st.dir_admin;
    auto info = co_await st.svc.workers.run([d, &a = c.actor] { return d->whoami(a); });
    if (info) {
      c.who.role = std::string(directory::to_string(info->r));
      c.who.units = info->units;
    }
  }
  auto ms = now_ms();
  co_await st.svc.workers.run([&st, &id, &ms] { return st.records->touch_token(id, ms); });
  co_return accepted();
}

// W4: a session dies with its account (disabled or deleted in the directory).
asio::awaitable<response> authenticate_cookie(call& c, const std::string& sid) {
  auto s = c.st.sessions.touch(sid, clock_type::now());
  if (!s) {
    co_return json_error(401, "sign in first");
  }
  auto& st = c.st;
  auto acct = co_await st.svc.workers.run([&st, &id = s->account_id] { return st.svc.dir.find_account(id); });
  if ((!acct && acct.error() == directory::error::not_found) || (acct && !acct->enabled)) {
    st.sessions.remove_account(s->account_id);
    co_return json_error(401, "sign in first");
  }
  c.who.account_id = s->account_id;
  c.who.address = s->address;
  c.who.display_name = s->display_name;
  c.who.role = s->role;
  c.who.units = s->units;
  c.who.session_id = s->id;
  c.who.csrf = s->csrf;
  c.who.enrol_only = s->enrol_only;
  c.actor = directory::actor::account(s->account_id);
  co_return accepted();
}

asio::awaitable<void> record(call& c, const route_entry& e, const response& r) {
  storage::audit_record a;
  a.time_ms = now_ms();
  a.actor = !c.audit_actor.empty() ? c.audit_actor : c.who.account_id;
  a.action = std::string(e.action);
  a.target = c.audit_target;
  a.client = c.req.peer_ip;
  if (r.status < 300) {
    a.outcome = "ok";
  } else {
    a.outcome = std::to_string(r.status);
    json::error_code ec;
    auto v = json::parse(r.body, ec);
    if (!ec && v.is_object() && v.as_object().contains("error") && v.as_object().at("error").is_string()) {
      c.audit_detail["error"] = v.as_object().at("error");
    }
  }
  if (c.who.via_token) {
    c.audit_detail["token"] = c.who.token_id;
  }
  a.detail = json::serialize(c.audit_detail);
  auto& st = c.st;
  auto ok = co_await st.svc.workers.run([&st, &a] { return st.records->append(a); });
  if (!ok) {
    common::log::error("admin.audit_failed", {{"action", a.action}, {"error", ok.error().message()}});
  }
}

asio::awaitable<response> authenticate(call& c, const route_entry& e, bool changes) {
  const auto& req = c.req;
  auto auth = header(req, "authorization");
  if (auth.size() > 7 && common::to_lower_ascii(auth.substr(0, 7)) == "bearer ") {
    auto r = co_await authenticate_token(c, std::string_view(auth).substr(7));
    if (r.status != 0) {
      co_return r;
    }
    if (e.flags & session_only) {
      co_return json_error(403, "API tokens cannot manage sessions or tokens");
    }
    if (changes && c.who.token_scope != "write") {
      co_return json_error(403, "this API token is read-only");
    }
    co_return accepted();
  }
  auto sid = cookie_value(header(req, "cookie"), cookie_name);
  if (sid.empty()) {
    co_return json_error(401, "sign in first");
  }
  auto r = co_await authenticate_cookie(c, sid);
  if (r.status != 0) {
    co_return r;
  }
  if (c.who.enrol_only && !(e.flags & enrolment)) {
    json::object o;
    o["error"] = "a second factor must be enrolled first: province administrators turn on two-step sign-in "
                 "(POST /api/v1/me/totp, then /api/v1/me/totp/confirm) before anything else";
    o["second_factor_required"] = true;
    co_return json_reply(o, 403);
  }
  // W1: the CSRF token is bound to the session and never sent in a cookie.
  if (changes && !equal_constant_time(header(req, "x-csrf-token"), c.who.csrf)) {
    co_return json_error(403, "missing or wrong X-CSRF-Token");
  }
  co_return accepted();
}

}  // namespace

asio::awaitable<response> api_route(admin_state& st, const request& req) {
  const route_entry* found = nullptr;
  std::map<std::string, std::string> params;
  bool path_known = false;
  for (const auto& e : routes) {
    if (auto m = match_route(e.pattern, req.path)) {
      path_known = true;
      if (e.method == req.method || (e.method == "GET" && req.method == "HEAD")) {
        found = &e;
        params = std::move(*m);
        break;
      }
    }
  }
  if (!found) {
    co_return path_known ? json_error(405, "method not allowed here") : json_error(404, "no such API endpoint");
  }
  const auto& e = *found;
  call c{st, req, std::move(params), {}, {}, {}, {}, {}};
  bool changes = is_state_changing(req.method);
  if (changes && cross_origin(req)) {
    co_return json_error(403, "cross-origin request refused");
  }
  if (!(e.flags & open)) {
    // Named results of co_await only: GCC 12 destroys some co_await
    // temporaries twice (see run_dir in api.hpp).
    auto refused = co_await authenticate(c, e, changes);
    if (refused.status != 0) {
      co_return refused;
    }
  }
  if (!st.dir_admin && e.pattern != "/api/v1/me" && e.pattern != "/api/v1/session") {
    co_return json_error(503, "provisioning is not available in this server");
  }
  auto r = co_await e.fn(c);
  if ((e.flags & (write | audited)) && !e.action.empty()) {
    co_await record(c, e, r);
  }
  co_return r;
}

response json_reply(const json::value& v, unsigned status) {
  response r;
  r.status = status;
  r.content_type = "application/json; charset=utf-8";
  r.body = json::serialize(v);
  return r;
}

response field_reply(const field_error& e, unsigned status) {
  json::object o;
  o["error"] = e.message;
  if (!e.field.empty()) {
    o["field"] = e.field;
  }
  return json_reply(o, status);
}

response dir_error_reply(const boost::system::error_code& ec, const std::string& detail) {
  auto with = [&](unsigned status, const std::string& fallback) {
    std::string msg = detail.empty() ? fallback : detail;
    field_error fe{"", msg};
    auto colon = msg.find(':');
    if (status == 400 && colon != std::string::npos && colon < 40 && msg.find(' ') > colon) {
      fe.field = msg.substr(0, colon);
    }
    return field_reply(fe, status);
  };
  if (ec == directory::error::denied) {
    return with(403, "not allowed for your role or units");
  }
  if (ec == directory::error::not_found) {
    return with(404, "not found");
  }
  if (ec == directory::error::exists) {
    return with(409, "already exists");
  }
  if (ec == directory::error::invalid_argument) {
    return with(400, "invalid value");
  }
  if (ec == directory::error::unavailable) {
    return with(503, "directory unavailable, try again");
  }
  if (ec == directory::error::invalid_credentials) {
    return with(401, "wrong login or password");
  }
  if (ec == directory::error::disabled) {
    return with(409, "account is disabled");
  }
  if (ec.category() == storage::category()) {
    return with(storage::is_temporary(ec) ? 503 : 500, "storage: " + ec.message());
  }
  return with(500, ec.message());
}

json::object account_json(const directory::account& a) {
  json::object o;
  o["id"] = a.id;
  o["address"] = a.address;
  o["name"] = a.display_name;
  o["unit"] = a.unit;
  json::array al;
  for (const auto& x : a.aliases) {
    al.emplace_back(x);
  }
  o["aliases"] = std::move(al);
  o["quota_bytes"] = a.quota_bytes;
  o["quota_messages"] = a.quota_messages;
  o["enabled"] = a.enabled;
  json::array fw;
  for (const auto& x : a.forward_to) {
    fw.emplace_back(x);
  }
  o["forward_to"] = std::move(fw);
  json::array sa;
  for (const auto& x : a.send_as) {
    sa.emplace_back(x);
  }
  o["send_as"] = std::move(sa);
  return o;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace homthu::admin
