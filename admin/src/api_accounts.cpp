// /api/v1/accounts: search, create, read, change, delete, passwords,
// aliases and app passwords. Every operation goes through directory_admin
// with the caller as actor, so a unit administrator's scope and an
// auditor's read-only role are enforced there (403 here). Passwords are
// never logged or audited; a generated one is returned once.
#include "api.hpp"
#include "fold.hpp"

#include "homthu/common/address.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

template <class T>
const field_error* err(const std::variant<T, field_error>& v) {
  return std::get_if<field_error>(&v);
}
template <class T>
const T& val(const std::variant<T, field_error>& v) {
  return std::get<T>(v);
}

std::vector<std::string> words(const std::string& folded) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < folded.size()) {
    auto j = folded.find(' ', i);
    if (j == std::string::npos) {
      j = folded.size();
    }
    if (j > i) {
      out.push_back(folded.substr(i, j - i));
    }
    i = j + 1;
  }
  return out;
}

std::string full_address(const call& c, const std::string& a) {
  if (a.find('@') == std::string::npos && !c.st.svc.cfg.server.domains.empty()) {
    return a + "@" + c.st.svc.cfg.server.domains.front();
  }
  return a;
}

json::array string_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

}  // namespace

namespace {

struct index_load {
  directory::result<directory::account_page> page;
  std::string detail;
  account_cache::list index;  // set when page is a value
};

// Lists the accounts `who` may read below `unit` and folds their search
// text, both on the worker pool: folding 9,000 names takes long enough to
// stall an I/O thread.
asio::awaitable<std::variant<account_cache::list, index_load>> load_index(admin_state& st, const directory::actor& who,
                                                                          const std::string& unit) {
  auto* d = st.dir_admin;
  directory::account_query q;
  q.unit = unit;
  auto list_fn = [d, &who, &q] {
    index_load out{d->list_accounts(who, q), {}, nullptr};
    if (!out.page) {
      out.detail = directory::last_error_detail();
      return out;
    }
    auto v = std::make_shared<std::vector<indexed_account>>();
    v->reserve(out.page->accounts.size());
    for (auto& a : out.page->accounts) {
      auto text = search_text(a);
      v->push_back({std::move(a), std::move(text)});
    }
    out.index = std::move(v);
    return out;
  };
  auto got = co_await st.svc.workers.run(list_fn);
  if (!got.page) {
    co_return std::move(got);
  }
  co_return std::move(got.index);
}

struct refresh_job {
  directory::actor who;
  std::string key;
  std::string unit;
};

// Replaces a list that is past its freshness while readers keep using it.
// A refusal (the actor lost their role or scope) drops it; an unreachable
// directory keeps it until it ages out. Takes ownership of `raw` (passed by
// pointer: GCC 12 mishandles class-type coroutine arguments, see
// worker_pool.hpp).
asio::awaitable<void> refresh_index(admin_state& st, refresh_job* raw) {
  std::unique_ptr<refresh_job> job(raw);
  auto gen = st.accounts.generation();
  auto got = co_await load_index(st, job->who, job->unit);
  if (auto* l = std::get_if<account_cache::list>(&got)) {
    st.accounts.refreshed(job->key, *l, clock_type::now(), gen);
  } else if (std::get<index_load>(got).page.error() == directory::error::unavailable) {
    st.accounts.refreshed(job->key, nullptr, clock_type::now(), gen);
  } else {
    st.accounts.drop(job->key);
  }
}

}  // namespace

asio::awaitable<std::variant<account_cache::list, response>> visible_accounts(call& c, const std::string& unit) {
  auto key = c.who.account_id + "|" + unit;
  auto now = clock_type::now();
  if (auto l = c.st.accounts.get(key, now)) {
    if (c.st.accounts.claim_refresh(key, now)) {
      auto ex = co_await asio::this_coro::executor;
      auto job = std::make_unique<refresh_job>(refresh_job{c.actor, key, unit});
      asio::co_spawn(ex, refresh_index(c.st, job.release()), asio::detached);
    }
    co_return l;
  }
  auto got = co_await load_index(c.st, c.actor, unit);
  if (auto* fail = std::get_if<index_load>(&got)) {
    co_return dir_error_reply(fail->page.error(), fail->detail);
  }
  auto l = std::get<account_cache::list>(got);
  c.st.accounts.put(key, l, now);
  co_return l;
}

asio::awaitable<response> accounts_list(call& c) {
  auto offset = query_number(c.req.query, "offset", 0, 0, 1u << 30);
  auto limit = query_number(c.req.query, "limit", 50, 1, 500);
  if (!offset) {
    co_return field_reply({"offset", "offset: must be a whole number"});
  }
  if (!limit) {
    co_return field_reply({"limit", "limit: must be a whole number"});
  }
  std::string q = c.req.query.count("q") ? c.req.query.at("q") : "";
  std::string unit = c.req.query.count("unit") ? c.req.query.at("unit") : "";
  if (q.size() > 256 || !is_clean_text(q)) {
    co_return field_reply({"q", "q: at most 256 bytes of text"});
  }
  if (unit.size() > 128 || !is_clean_text(unit)) {
    co_return field_reply({"unit", "unit: not a unit id"});
  }
  auto got = co_await visible_accounts(c, unit);
  if (auto* r = std::get_if<response>(&got)) {
    co_return *r;
  }
  const auto& all = *std::get<account_cache::list>(got);
  auto terms = words(fold_search(q));
  std::string state = c.req.query.count("state") ? c.req.query.at("state") : "";
  std::size_t total = 0;
  json::array out;
  for (const auto& e : all) {
    bool hit = std::all_of(terms.begin(), terms.end(),
                           [&](const std::string& t) { return e.folded.find(t) != std::string::npos; });
    if (hit && state == "enabled") {
      hit = e.acct.enabled;
    } else if (hit && state == "disabled") {
      hit = !e.acct.enabled;
    }
    if (!hit) {
      continue;
    }
    if (total >= *offset && out.size() < *limit) {
      out.push_back(account_json(e.acct));
    }
    ++total;
  }
  json::object o;
  o["total"] = total;
  o["offset"] = *offset;
  o["limit"] = *limit;
  o["accounts"] = std::move(out);
  co_return json_reply(o);
}

asio::awaitable<response> account_create(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = err(parsed)) {
    co_return field_reply(*fe);
  }
  const auto& b = val(parsed);
  if (auto fe = only_fields(b, {"address", "name", "unit", "quota_bytes", "quota_messages", "password",
                                "generate_password"})) {
    co_return field_reply(*fe);
  }
  auto address = get_string(b, "address", 320, true);
  auto name = get_string(b, "name", 256, true);
  auto unit = get_string(b, "unit", 128, true);
  auto qb = get_uint(b, "quota_bytes");
  auto qm = get_uint(b, "quota_messages");
  auto pw = get_string(b, "password", 1024, false);
  for (const field_error* fe : {err(address), err(name), err(unit), err(qb), err(qm), err(pw)}) {
    if (fe) {
      co_return field_reply(*fe);
    }
  }
  directory::new_account na;
  na.address = full_address(c, *val(address));
  na.display_name = *val(name);
  na.unit = *val(unit);
  na.quota_bytes = val(qb).value_or(0);
  na.quota_messages = val(qm).value_or(0);
  bool generated = !val(pw) || val(pw)->empty();
  na.password = generated ? directory::random_password() : *val(pw);
  c.audit_target = na.address;
  c.audit_detail["name"] = na.display_name;
  c.audit_detail["unit"] = na.unit;
  c.audit_detail["quota_bytes"] = na.quota_bytes;
  c.audit_detail["password"] = generated ? "generated" : "set";
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &na] { return d->create_account(a, na); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  c.st.accounts.created(c.who.account_id + "|", *r.r);
  json::object o;
  o["account"] = account_json(*r.r);
  if (generated) {
    o["password"] = na.password;
  }
  co_return json_reply(o, 201);
}

asio::awaitable<response> account_get(call& c) {
  auto* d = c.st.dir_admin;
  const auto& id = c.params.at("id");
  auto roles = co_await run_dir(c, [d, &a = c.actor, &id] { return d->roles_of(a, id); });
  if (!roles.r) {
    co_return dir_error_reply(roles.r.error(), roles.detail);
  }
  auto& st = c.st;
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (!acct) {
    co_return dir_error_reply(acct.error(), "");
  }
  auto o = account_json(*acct);
  o["role"] = std::string(directory::to_string(roles.r->r));
  o["admin_units"] = string_array(roles.r->units);
  auto totp = co_await totp_enabled(st, acct->id);
  o["totp"] = totp ? json::value(*totp) : json::value(nullptr);
  auto usage = co_await st.svc.workers.run([&st, &aid = acct->id] { return st.svc.store.usage(aid); });
  json::object u;
  if (usage) {
    u["bytes"] = usage->bytes;
    u["messages"] = usage->messages;
    o["usage"] = std::move(u);
  } else {
    o["usage"] = nullptr;  // no mail stored yet, or storage busy
  }
  co_return json_reply(o);
}

asio::awaitable<response> account_patch(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = err(parsed)) {
    co_return field_reply(*fe);
  }
  const auto& b = val(parsed);
  if (auto fe = only_fields(b, {"name", "unit", "quota_bytes", "quota_messages", "forward_to", "send_as",
                                "aliases"})) {
    co_return field_reply(*fe);
  }
  auto name = get_string(b, "name", 256, false);
  auto unit = get_string(b, "unit", 128, false);
  auto qb = get_uint(b, "quota_bytes");
  auto qm = get_uint(b, "quota_messages");
  auto fw = get_string_list(b, "forward_to", 20);
  auto sa = get_string_list(b, "send_as", 50);
  auto al = get_string_list(b, "aliases", 100);
  for (const field_error* fe : {err(name), err(unit), err(qb), err(qm), err(fw), err(sa), err(al)}) {
    if (fe) {
      co_return field_reply(*fe);
    }
  }
  if (val(name) && val(name)->empty()) {
    co_return field_reply({"name", "name: must not be empty"});
  }
  const auto id = c.params.at("id");
  c.audit_target = id;
  auto* d = c.st.dir_admin;
  auto& st = c.st;
  // Read access first, so that an out-of-scope id is 403, not a diff.
  auto roles = co_await run_dir(c, [d, &a = c.actor, &id] { return d->roles_of(a, id); });
  if (!roles.r) {
    co_return dir_error_reply(roles.r.error(), roles.detail);
  }
  directory::account_changes ch;
  ch.display_name = val(name);
  ch.quota_bytes = val(qb);
  ch.quota_messages = val(qm);
  ch.forward_to = val(fw);
  ch.send_as = val(sa);
  for (const auto& kv : b) {
    if (kv.key() != "aliases") {
      c.audit_detail[kv.key()] = kv.value();
    }
  }
  if (ch.display_name || ch.quota_bytes || ch.quota_messages || ch.forward_to || ch.send_as) {
    auto r = co_await run_dir(c, [d, &a = c.actor, &id, &ch] { return d->modify_account(a, id, ch); });
    if (!r.r) {
      st.accounts.clear();
      co_return dir_error_reply(r.r.error(), r.detail);
    }
  }
  if (val(al)) {
    auto cur = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
    if (!cur) {
      co_return dir_error_reply(cur.error(), "");
    }
    std::vector<std::string> want;
    for (const auto& x : *val(al)) {
      want.push_back(common::to_lower_ascii(full_address(c, x)));
    }
    json::array added, removed;
    for (const auto& x : cur->aliases) {
      if (std::find(want.begin(), want.end(), x) == want.end()) {
        auto r = co_await run_dir(c, [d, &a = c.actor, &id, &x] { return d->remove_alias(a, id, x); });
        if (!r.r) {
          st.accounts.clear();
          co_return dir_error_reply(r.r.error(), r.detail);
        }
        removed.emplace_back(x);
      }
    }
    for (const auto& x : want) {
      if (std::find(cur->aliases.begin(), cur->aliases.end(), x) == cur->aliases.end()) {
        auto r = co_await run_dir(c, [d, &a = c.actor, &id, &x] { return d->add_alias(a, id, x); });
        if (!r.r) {
          st.accounts.clear();
          co_return dir_error_reply(r.r.error(), r.detail);
        }
        added.emplace_back(x);
      }
    }
    c.audit_detail["aliases_added"] = std::move(added);
    c.audit_detail["aliases_removed"] = std::move(removed);
  }
  if (val(unit)) {
    auto r = co_await run_dir(c, [d, &a = c.actor, &id, &u = *val(unit)] { return d->move_account(a, id, u); });
    if (!r.r) {
      st.accounts.clear();
      co_return dir_error_reply(r.r.error(), r.detail);
    }
  }
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (!acct) {
    st.accounts.clear();
    co_return dir_error_reply(acct.error(), "");
  }
  if (val(unit)) {
    st.accounts.clear();
  } else {
    st.accounts.update(*acct);
  }
  co_return json_reply(account_json(*acct));
}

asio::awaitable<response> account_delete(call& c) {
  const auto id = c.params.at("id");
  c.audit_target = id;
  auto& st = c.st;
  auto* d = st.dir_admin;
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  auto r = co_await run_dir(c, [d, &a = c.actor, &id] { return d->delete_account(a, id); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  if (acct) {
    st.sessions.remove_account(acct->id);
    c.audit_target = acct->address;
    st.accounts.remove(acct->id);
    // A later account with the same id must not inherit the second factor.
    co_await forget_second_factor(st, acct->id);
  } else {
    st.accounts.clear();
  }
  response out;
  out.status = 204;
  co_return out;
}

asio::awaitable<response> account_password(call& c) {
  auto parsed = parse_object(c.req.body.empty() ? std::string_view("{}") : std::string_view(c.req.body));
  if (auto* fe = err(parsed)) {
    co_return field_reply(*fe);
  }
  const auto& b = val(parsed);
  if (auto fe = only_fields(b, {"password", "generate"})) {
    co_return field_reply(*fe);
  }
  auto gen = get_bool(b, "generate");
  if (auto* fe = err(gen)) {
    co_return field_reply(*fe);
  }
  auto it = b.find("password");
  std::string password;
  bool generated = false;
  if (it != b.end() && !it->value().is_null()) {
    if (!it->value().is_string()) {
      co_return field_reply({"password", "password: must be a string"});
    }
    password = std::string(it->value().as_string());
    if (auto why = directory::password_problem(password); !why.empty()) {
      co_return field_reply({"password", "password: " + why});
    }
  } else if (val(gen).value_or(false)) {
    password = directory::random_password();
    generated = true;
  } else {
    co_return field_reply({"password", "password: give one, or \"generate\": true"});
  }
  const auto id = c.params.at("id");
  c.audit_target = id;
  c.audit_detail["password"] = generated ? "generated" : "set";
  auto& st = c.st;
  auto* d = st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id, &password] { return d->set_password(a, id, password); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  // Other sessions of that account end with its old password.
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (acct && acct->id != c.who.account_id) {
    st.sessions.remove_account(acct->id);
  }
  json::object o;
  if (generated) {
    o["password"] = password;
  }
  o["ok"] = true;
  co_return json_reply(o);
}

namespace {

asio::awaitable<response> set_enabled(call& c, bool on) {
  const auto id = c.params.at("id");
  c.audit_target = id;
  auto& st = c.st;
  auto* d = st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id, on] { return d->set_enabled(a, id, on); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (!acct) {
    st.accounts.clear();
    co_return dir_error_reply(acct.error(), "");
  }
  st.accounts.update(*acct);
  if (!on) {
    st.sessions.remove_account(acct->id);  // W4
  }
  co_return json_reply(account_json(*acct));
}

}  // namespace

asio::awaitable<response> account_enable(call& c) { co_return co_await set_enabled(c, true); }
asio::awaitable<response> account_disable(call& c) { co_return co_await set_enabled(c, false); }

asio::awaitable<response> alias_add(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = err(parsed)) {
    co_return field_reply(*fe);
  }
  auto alias = get_string(val(parsed), "alias", 320, true);
  if (auto* fe = err(alias)) {
    co_return field_reply(*fe);
  }
  const auto id = c.params.at("id");
  std::string x = full_address(c, *val(alias));
  c.audit_target = id;
  c.audit_detail["alias"] = x;
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id, &x] { return d->add_alias(a, id, x); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  auto& st = c.st;
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (!acct) {
    st.accounts.clear();
    co_return dir_error_reply(acct.error(), "");
  }
  st.accounts.update(*acct);
  co_return json_reply(account_json(*acct), 201);
}

asio::awaitable<response> alias_remove(call& c) {
  const auto id = c.params.at("id");
  const auto x = c.params.at("alias");
  c.audit_target = id;
  c.audit_detail["alias"] = x;
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id, &x] { return d->remove_alias(a, id, x); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  auto& st = c.st;
  auto acct = co_await st.svc.workers.run([&st, &id] { return st.svc.dir.find_account(id); });
  if (acct) {
    st.accounts.update(*acct);
  } else {
    st.accounts.clear();
  }
  response out;
  out.status = 204;
  co_return out;
}

namespace {

json::object app_password_json(const directory::app_password_info& i) {
  json::object o;
  o["id"] = i.id;
  o["label"] = i.label;
  o["smtp_only"] = i.smtp_only;
  o["created"] = i.created;
  return o;
}

}  // namespace

asio::awaitable<response> app_passwords_list(call& c) {
  const auto id = c.params.at("id");
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id] { return d->list_app_passwords(a, id); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  json::array arr;
  for (const auto& i : *r.r) {
    arr.push_back(app_password_json(i));
  }
  json::object o;
  o["app_passwords"] = std::move(arr);
  co_return json_reply(o);
}

asio::awaitable<response> app_password_add(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = err(parsed)) {
    co_return field_reply(*fe);
  }
  auto label = get_string(val(parsed), "label", 100, true);
  auto smtp_only = get_bool(val(parsed), "smtp_only");
  if (auto* fe = err(label)) {
    co_return field_reply(*fe);
  }
  if (auto* fe = err(smtp_only)) {
    co_return field_reply(*fe);
  }
  const auto id = c.params.at("id");
  c.audit_target = id;
  c.audit_detail["label"] = *val(label);
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id, &l = *val(label), s = val(smtp_only).value_or(false)] {
    return d->add_app_password(a, id, l, s);
  });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  auto o = app_password_json(r.r->info);
  o["password"] = r.r->password;
  co_return json_reply(o, 201);
}

asio::awaitable<response> app_password_revoke(call& c) {
  const auto id = c.params.at("id");
  const auto pid = c.params.at("pid");
  c.audit_target = id;
  c.audit_detail["app_password"] = pid;
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &id, &pid] { return d->revoke_app_password(a, id, pid); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  response out;
  out.status = 204;
  co_return out;
}

}  // namespace homthu::admin
