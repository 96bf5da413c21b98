// Sign-in and sign-out of the console (POST/DELETE /api/v1/session) and
// GET /api/v1/me. Passwords are checked by the directory (service::admin:
// app passwords are not accepted here) and never logged or truncated (W5).
// Each sign-in creates a new session id whatever cookie came with it (W2),
// in a __Host- cookie: Secure, HttpOnly, SameSite=Strict, Path=/. An
// account with a second factor also sends its current TOTP code ("code");
// see api_totp.cpp. With [admin] require_totp_for_province_admins, a
// province administrator without a confirmed second factor gets an
// enrol-only session (api_dispatch.cpp), marked in the answer and in /me as
// "second_factor_required".
#include "api.hpp"

#include "homthu/common/log.hpp"

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string session_cookie(const std::string& value, long max_age) {
  return "__Host-homthu=" + value + "; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=" + std::to_string(max_age);
}

bool is_json(const request& req) {
  auto it = req.headers.find("content-type");
  return it != req.headers.end() && common::to_lower_ascii(it->second).rfind("application/json", 0) == 0;
}

json::object me_json(const principal& p, std::optional<bool> totp) {
  json::object o;
  json::object a;
  a["id"] = p.account_id;
  a["address"] = p.address;
  a["name"] = p.display_name;
  o["account"] = std::move(a);
  o["role"] = p.role;
  json::array u;
  for (const auto& x : p.units) {
    u.emplace_back(x);
  }
  o["units"] = std::move(u);
  if (!p.csrf.empty()) {
    o["csrf"] = p.csrf;
  }
  // null when the second-factor store cannot answer
  o["totp"] = totp ? json::value(*totp) : json::value(nullptr);
  o["second_factor_required"] = p.enrol_only;
  return o;
}

}  // namespace

asio::awaitable<response> session_create(call& c) {
  // A cross-site form cannot send application/json without a CORS
  // preflight, which this server never grants: login CSRF is closed too.
  if (!is_json(c.req)) {
    co_return json_error(415, "Content-Type must be application/json");
  }
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    co_return field_reply(*fe);
  }
  auto& body = std::get<json::object>(parsed);
  auto login_v = get_string(body, "login", 320, true);
  if (auto* fe = std::get_if<field_error>(&login_v)) {
    co_return field_reply(*fe);
  }
  // The password is taken as sent, up to the directory's limit of 1024
  // bytes: never truncated.
  auto it = body.find("password");
  if (it == body.end() || !it->value().is_string() || it->value().as_string().empty()) {
    co_return field_reply({"password", "password: required"});
  }
  std::string password(it->value().as_string());
  if (password.size() > 1024) {
    co_return field_reply({"password", "password: at most 1024 bytes"});
  }
  std::string login = common::to_lower_ascii(**std::get_if<std::optional<std::string>>(&login_v));
  c.audit_actor = login;
  c.audit_target = login;
  auto& st = c.st;
  auto now = clock_type::now();
  if (auto wait = st.limiter.blocked_for(c.req.peer_ip, login, now); wait.count() > 0) {
    common::log::warn("admin.login_throttled", {{"peer", c.req.peer_ip}, {"login", login}});
    auto r = json_error(429, "too many failed sign-ins; try again later");
    r.headers["Retry-After"] = std::to_string(wait.count());
    co_return r;
  }
  auto auth = co_await st.svc.workers.run(
      [&st, &login, &password] { return st.svc.dir.authenticate(login, password, directory::service::admin); });
  if (!auth) {
    if (auth.error() == directory::error::unavailable) {
      co_return json_error(503, "directory unavailable, try again");
    }
    st.limiter.failure(c.req.peer_ip, login, now);
    if (st.login_failures) {
      st.login_failures->inc();
    }
    common::log::warn("admin.login_failed", {{"peer", c.req.peer_ip}, {"login", login}});
    co_return json_error(401, "wrong login or password");
  }
  auto* d = st.dir_admin;
  if (!d) {
    co_return json_error(503, "provisioning is not available in this server");
  }
  auto acct = auth->acct;
  c.audit_actor = acct.id;
  auto info = co_await st.svc.workers.run([d, &id = acct.id] { return d->whoami(directory::actor::account(id)); });
  if (!info) {
    co_return dir_error_reply(info.error(), "");
  }
  if (info->r == directory::role::none) {
    co_return json_error(403, "this account has no administrator role");
  }
  auto second = co_await check_second_factor(c, acct.id, login, body);
  if (second) {
    co_return *second;
  }
  st.limiter.success(login);
  // No session fixation: whatever session the browser had is dropped.
  if (auto it2 = c.req.headers.find("cookie"); it2 != c.req.headers.end()) {
    if (auto old = cookie_value(it2->second, "__Host-homthu"); !old.empty()) {
      st.sessions.remove(old);
    }
  }
  // Read before the session is made: whether it may do more than enrol.
  // A store that cannot answer counts as no second factor (fail closed).
  auto totp = co_await totp_enabled(st, acct.id);
  session_data s;
  s.account_id = acct.id;
  s.address = acct.address;
  s.display_name = acct.display_name;
  s.role = std::string(directory::to_string(info->r));
  s.units = info->units;
  s.enrol_only = st.svc.cfg.admin.require_totp_for_province_admins && info->r == directory::role::province_admin &&
                 totp != true;
  if (s.enrol_only) {
    c.audit_detail["second_factor"] = "enrolment required";
  }
  s = st.sessions.create(std::move(s), now);
  principal p;
  p.account_id = s.account_id;
  p.address = s.address;
  p.display_name = s.display_name;
  p.role = s.role;
  p.units = s.units;
  p.csrf = s.csrf;
  p.enrol_only = s.enrol_only;
  auto r = json_reply(me_json(p, totp));
  r.headers["Set-Cookie"] = session_cookie(s.id, static_cast<long>(st.svc.cfg.admin.session_absolute.count()));
  co_return r;
}

asio::awaitable<response> session_delete(call& c) {
  c.st.sessions.remove(c.who.session_id);
  response r;
  r.status = 204;
  r.headers["Set-Cookie"] = session_cookie("", 0);
  co_return r;
}

asio::awaitable<response> me(call& c) {
  auto totp = co_await totp_enabled(c.st, c.who.account_id);
  co_return json_reply(me_json(c.who, totp));
}

}  // namespace homthu::admin
