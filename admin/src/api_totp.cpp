// The console's second factor: TOTP (RFC 6238) enrolment, confirmation and
// removal for the signed-in user (/api/v1/me/totp…), its reset by a
// province administrator (/api/v1/accounts/{id}/totp), and the check made at
// sign-in. Secrets come from the OS CSPRNG, are shown once (as base32 and an
// otpauth:// URI) and live in admin.db (totp_store), never in LDAP. A code
// is accepted once: each use records its time step and older or equal steps
// are refused afterwards. Wrong codes at sign-in count as failed sign-ins.
// When [admin] require_totp_for_province_admins holds, confirming lifts the
// enrol-only state of the session that confirmed (it has now shown the
// password and the new factor, as a sign-in with a code would), and turning
// the factor off puts every session of a province administrator back to
// enrol-only.
#include "api.hpp"
#include "totp.hpp"

#include "homthu/common/log.hpp"

#include <openssl/rand.h>

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::int64_t unix_now() { return now_ms() / 1000; }

// The code from a JSON body {"code": "123456"}; an error reply otherwise.
std::variant<std::string, response> code_of(const call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    return field_reply(*fe);
  }
  auto code = get_string(std::get<json::object>(parsed), "code", 16, true);
  if (auto* fe = std::get_if<field_error>(&code)) {
    return field_reply(*fe);
  }
  return **std::get_if<std::optional<std::string>>(&code);
}

response storage_failed() { return json_error(503, "second-factor storage unavailable, try again"); }

// The signed-in user's entry for a request carrying {"code"}, when it is
// confirmed (or pending, for `confirmed` false); else the refusal.
struct code_request {
  std::string code;
  totp_entry entry;
};

asio::awaitable<std::variant<code_request, response>> code_request_of(call& c, bool confirmed) {
  auto code = code_of(c);
  if (auto* r = std::get_if<response>(&code)) {
    co_return *r;
  }
  auto* store = c.st.totp.get();
  const auto& id = c.who.account_id;
  c.audit_target = id;
  auto got = co_await c.st.svc.workers.run([store, &id] { return store->get(id); });
  if (!got) {
    co_return storage_failed();
  }
  if (!got->has_value() || (*got)->confirmed != confirmed) {
    co_return json_error(409, confirmed ? "no second factor is enabled" : "no enrolment in progress");
  }
  co_return code_request{std::get<std::string>(code), std::move(**got)};
}

// Accepts `code` for a confirmed entry once: its step must be in the window
// and later than any used before, and is recorded as used. nullopt: the
// store failed.
asio::awaitable<std::optional<bool>> accept_code(admin_state& st, const std::string& account_id,
                                                 const totp_entry& e, const std::string& code) {
  auto step = totp::match(e.secret, code, unix_now(), e.last_step);
  if (!step) {
    co_return false;
  }
  auto* store = st.totp.get();
  auto used = co_await st.svc.workers.run([store, &account_id, &step] { return store->use(account_id, *step); });
  if (!used) {
    co_return std::nullopt;
  }
  co_return *used;
}

}  // namespace

asio::awaitable<std::optional<bool>> totp_enabled(admin_state& st, const std::string& account_id) {
  auto* store = st.totp.get();
  auto got = co_await st.svc.workers.run([store, &account_id] { return store->get(account_id); });
  if (!got) {
    co_return std::nullopt;
  }
  co_return got->has_value() && (*got)->confirmed;
}

asio::awaitable<std::optional<response>> check_second_factor(call& c, const std::string& account_id,
                                                             const std::string& login, const json::object& body) {
  auto& st = c.st;
  auto* store = st.totp.get();
  auto got = co_await st.svc.workers.run([store, &account_id] { return store->get(account_id); });
  if (!got) {
    co_return storage_failed();
  }
  if (!got->has_value() || !(*got)->confirmed) {
    co_return std::nullopt;  // no second factor enrolled
  }
  auto it = body.find("code");
  if (it == body.end() || !it->value().is_string() || it->value().as_string().empty()) {
    // The password was right: the console now asks for the code. Not a
    // failure (the same person is about to type it), and nothing is
    // granted without it.
    json::object o;
    o["error"] = "code: enter the code from your authenticator app";
    o["field"] = "code";
    o["totp_required"] = true;
    co_return json_reply(o, 401);
  }
  std::string code(it->value().as_string());
  auto ok = co_await accept_code(st, account_id, **got, code);
  if (!ok) {
    co_return storage_failed();
  }
  if (!*ok) {
    st.limiter.failure(c.req.peer_ip, login, clock_type::now());
    if (st.login_failures) {
      st.login_failures->inc();
    }
    common::log::warn("admin.login_failed", {{"peer", c.req.peer_ip}, {"login", login}, {"reason", "totp"}});
    c.audit_detail["second_factor"] = "wrong or reused code";
    json::object o;
    o["error"] = "code: wrong, expired or already used";
    o["field"] = "code";
    o["totp_required"] = true;
    co_return json_reply(o, 401);
  }
  c.audit_detail["second_factor"] = "totp";
  co_return std::nullopt;
}

// POST /me/totp: a new secret, pending until a code from it is confirmed.
asio::awaitable<response> totp_begin(call& c) {
  auto& st = c.st;
  auto* store = st.totp.get();
  c.audit_target = c.who.account_id;
  std::string secret(20, '\0');  // 160 bits, RFC 4226 §4 R6
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1) {
    co_return json_error(500, "no randomness available");
  }
  auto ms = now_ms();
  auto started = co_await st.svc.workers.run(
      [store, &id = c.who.account_id, &secret, &ms] { return store->begin(id, secret, ms); });
  if (!started) {
    co_return storage_failed();
  }
  if (!*started) {
    co_return json_error(409, "a second factor is already enabled; disable it first");
  }
  json::object o;
  o["secret"] = totp::base32_encode(secret);
  o["uri"] = totp::uri(st.svc.cfg.server.hostname.empty() ? "homthu" : st.svc.cfg.server.hostname, c.who.address,
                       secret);
  o["digits"] = totp::digits;
  o["period"] = totp::step_seconds;
  co_return json_reply(o, 201);
}

// POST /me/totp/confirm {"code"}: the first valid code switches it on.
asio::awaitable<response> totp_confirm(call& c) {
  auto req = co_await code_request_of(c, false);
  if (auto* r = std::get_if<response>(&req)) {
    co_return *r;
  }
  auto& q = std::get<code_request>(req);
  auto step = totp::match(q.entry.secret, q.code, unix_now(), -1);
  if (!step) {
    co_return field_reply({"code", "code: wrong or expired; check the phone's clock"});
  }
  auto* store = c.st.totp.get();
  auto done = co_await c.st.svc.workers.run(
      [store, &id = c.who.account_id, &secret = q.entry.secret, &step] { return store->confirm(id, secret, *step); });
  if (!done) {
    co_return storage_failed();
  }
  if (!*done) {
    co_return json_error(409, "the enrolment was restarted meanwhile");
  }
  if (c.who.enrol_only) {
    c.st.sessions.set_enrol_only(c.who.session_id, false);
  }
  json::object o;
  o["totp"] = true;
  co_return json_reply(o);
}

// POST /me/totp/disable {"code"}: only with a current, unused code.
asio::awaitable<response> totp_disable(call& c) {
  auto req = co_await code_request_of(c, true);
  if (auto* r = std::get_if<response>(&req)) {
    co_return *r;
  }
  auto& q = std::get<code_request>(req);
  auto ok = co_await accept_code(c.st, c.who.account_id, q.entry, q.code);
  if (!ok) {
    co_return storage_failed();
  }
  if (!*ok) {
    co_return field_reply({"code", "code: wrong, expired or already used"});
  }
  auto* store = c.st.totp.get();
  auto removed = co_await c.st.svc.workers.run([store, &id = c.who.account_id] { return store->remove(id); });
  if (!removed) {
    co_return storage_failed();
  }
  if (c.st.svc.cfg.admin.require_totp_for_province_admins &&
      c.who.role == directory::to_string(directory::role::province_admin)) {
    c.st.sessions.restrict_account_to_enrolment(c.who.account_id);
  }
  response out;
  out.status = 204;
  co_return out;
}

// DELETE /accounts/{id}/totp: a province administrator's reset for someone
// who lost their phone. The role is read fresh from the directory.
asio::awaitable<response> totp_reset(call& c) {
  auto& st = c.st;
  auto* d = st.dir_admin;
  const auto id = c.params.at("id");
  c.audit_target = id;
  auto mine = co_await run_dir(c, [d, &a = c.actor] { return d->whoami(a); });
  if (!mine.r) {
    co_return dir_error_reply(mine.r.error(), mine.detail);
  }
  if (mine.r->r != directory::role::province_admin) {
    co_return json_error(403, "only province administrators reset a second factor");
  }
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (!acct) {
    co_return dir_error_reply(acct.error(), "");
  }
  auto* store = st.totp.get();
  auto removed = co_await st.svc.workers.run([store, &aid = acct->id] { return store->remove(aid); });
  if (!removed) {
    co_return storage_failed();
  }
  if (!*removed) {
    co_return json_error(404, "this account has no second factor");
  }
  c.audit_target = acct->address;
  // Whoever holds a session made with the old factor signs in again.
  st.sessions.remove_account(acct->id);
  response out;
  out.status = 204;
  co_return out;
}

asio::awaitable<void> forget_second_factor(admin_state& st, const std::string& account_id) {
  auto* store = st.totp.get();
  auto removed = co_await st.svc.workers.run([store, &account_id] { return store->remove(account_id); });
  if (!removed) {
    common::log::warn("admin.totp_forget_failed", {{"account", account_id}});
  }
}

}  // namespace homthu::admin
