// /api/v1/units (the tree with account counts), /api/v1/admins and
// /api/v1/units/{id}/admins (who administers which unit; province
// administrators grant and revoke the unit-administrator role) and
// /api/v1/lists (distribution lists: members, posting policy, posters).
// Authorisation in directory_admin: a unit administrator sees and changes
// lists in their units only, and adds only their units' people to them.
#include "api.hpp"

#include "homthu/common/address.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

namespace homthu::admin {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

std::string_view policy_name(directory::post_policy p) {
  switch (p) {
    case directory::post_policy::anyone: return "anyone";
    case directory::post_policy::authenticated: return "authenticated";
    case directory::post_policy::members: return "members";
    case directory::post_policy::moderators: return "moderators";
  }
  return "authenticated";
}

std::optional<directory::post_policy> parse_policy(std::string_view s) {
  if (s == "anyone") {
    return directory::post_policy::anyone;
  }
  if (s == "authenticated") {
    return directory::post_policy::authenticated;
  }
  if (s == "members") {
    return directory::post_policy::members;
  }
  if (s == "moderators") {
    return directory::post_policy::moderators;
  }
  return std::nullopt;
}

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& x : v) {
    a.emplace_back(x);
  }
  return a;
}

// with_members false: the summary of list_lists (members counted only).
json::object list_json(const directory::list_info& l, bool with_members = true) {
  json::object o;
  o["address"] = l.address;
  o["name"] = l.display_name;
  o["unit"] = l.unit;
  o["policy"] = std::string(policy_name(l.policy));
  if (with_members) {
    o["members"] = strings(l.members);
  }
  o["member_count"] = l.member_count;
  o["posters"] = strings(l.posters);
  return o;
}

std::string full_address(const call& c, std::string a) {
  if (a.find('@') == std::string::npos && !c.st.svc.cfg.server.domains.empty()) {
    a += "@" + c.st.svc.cfg.server.domains.front();
  }
  return common::to_lower_ascii(a);
}

}  // namespace

namespace {

using unit_list = std::shared_ptr<const std::vector<directory::unit_info>>;

// Lists the unit tree with counts (on the worker pool) and keeps it.
asio::awaitable<std::variant<unit_list, response>> load_units(admin_state& st, const directory::actor& who) {
  auto* d = st.dir_admin;
  auto gen = st.accounts.generation();
  auto list_fn = [d, &who] {
    auto r = d->list_units(who);
    return dir_outcome<std::vector<directory::unit_info>>{r, r ? std::string{} : directory::last_error_detail()};
  };
  auto r = co_await st.svc.workers.run(list_fn);
  std::lock_guard lock(st.unit_tree.mu);
  st.unit_tree.refreshing = false;
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  st.unit_tree.units = std::make_shared<const std::vector<directory::unit_info>>(std::move(*r.r));
  st.unit_tree.at = clock_type::now();
  st.unit_tree.generation = gen;
  co_return st.unit_tree.units;
}

// Takes ownership of `raw` (by pointer: see refresh_index in api_accounts.cpp).
asio::awaitable<void> refresh_units(admin_state& st, directory::actor* raw) {
  std::unique_ptr<directory::actor> who(raw);
  co_await load_units(st, *who);
}

}  // namespace

asio::awaitable<response> units_list(call& c) {
  auto& st = c.st;
  unit_list tree;
  bool refresh = false;
  {
    std::lock_guard lock(st.unit_tree.mu);
    auto age = clock_type::now() - st.unit_tree.at;
    if (st.unit_tree.units && age < std::chrono::minutes(10) &&
        st.unit_tree.generation == st.accounts.generation()) {
      tree = st.unit_tree.units;
      refresh = age >= std::chrono::minutes(1) && !st.unit_tree.refreshing;
      st.unit_tree.refreshing = st.unit_tree.refreshing || refresh;
    }
  }
  if (refresh) {
    auto ex = co_await asio::this_coro::executor;
    auto who = std::make_unique<directory::actor>(c.actor);
    asio::co_spawn(ex, refresh_units(st, who.release()), asio::detached);
  }
  if (!tree) {
    auto got = co_await load_units(st, c.actor);
    if (auto* r = std::get_if<response>(&got)) {
      co_return *r;
    }
    tree = std::get<unit_list>(got);
  }
  const auto& units = *tree;
  // Totals include every unit below: a district's count covers its communes.
  std::map<std::string, std::uint64_t> total;
  std::map<std::string, std::string> parent;
  for (const auto& u : units) {
    parent[u.id] = u.parent;
  }
  for (const auto& u : units) {
    std::string p = u.id;
    for (int depth = 0; !p.empty() && depth < 16; ++depth) {
      total[p] += u.accounts;
      p = parent.count(p) ? parent[p] : std::string{};
    }
  }
  json::array arr;
  for (const auto& u : units) {
    json::object o;
    o["id"] = u.id;
    o["name"] = u.name;
    o["kind"] = u.kind;
    o["parent"] = u.parent;
    o["accounts"] = u.accounts;
    o["total"] = total[u.id];
    arr.push_back(std::move(o));
  }
  json::object o;
  o["units"] = std::move(arr);
  co_return json_reply(o);
}

asio::awaitable<response> list_create(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    co_return field_reply(*fe);
  }
  const auto& b = std::get<json::object>(parsed);
  if (auto fe = only_fields(b, {"address", "name", "unit", "policy"})) {
    co_return field_reply(*fe);
  }
  auto address = get_string(b, "address", 320, true);
  auto name = get_string(b, "name", 256, true);
  auto unit = get_string(b, "unit", 128, false);
  auto policy = get_string(b, "policy", 32, false);
  for (auto* v : {&address, &name, &unit, &policy}) {
    if (auto* fe = std::get_if<field_error>(v)) {
      co_return field_reply(*fe);
    }
  }
  auto pol = parse_policy(std::get<0>(policy).value_or("authenticated"));
  if (!pol) {
    co_return field_reply({"policy", "policy: one of anyone, authenticated, members, moderators"});
  }
  std::string addr = full_address(c, *std::get<0>(address));
  c.audit_target = addr;
  c.audit_detail["name"] = *std::get<0>(name);
  c.audit_detail["unit"] = std::get<0>(unit).value_or("");
  c.audit_detail["policy"] = std::string(policy_name(*pol));
  auto* d = c.st.dir_admin;
  std::string unit_id = std::get<0>(unit).value_or("");
  auto r = co_await run_dir(c, [d, &a = c.actor, &addr, &n = *std::get<0>(name), &u = unit_id, &p = *pol] { return d->create_list(a, addr, n, u, p); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  co_return json_reply(list_json(*r.r), 201);
}

asio::awaitable<response> list_get(call& c) {
  auto* d = c.st.dir_admin;
  auto addr = full_address(c, c.params.at("address"));
  auto r = co_await run_dir(c, [d, &a = c.actor, &addr] { return d->show_list(a, addr); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  co_return json_reply(list_json(*r.r));
}

asio::awaitable<response> list_delete(call& c) {
  auto* d = c.st.dir_admin;
  auto addr = full_address(c, c.params.at("address"));
  c.audit_target = addr;
  auto r = co_await run_dir(c, [d, &a = c.actor, &addr] { return d->delete_list(a, addr); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  response out;
  out.status = 204;
  co_return out;
}

asio::awaitable<response> list_member_add(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    co_return field_reply(*fe);
  }
  auto member = get_string(std::get<json::object>(parsed), "member", 320, true);
  if (auto* fe = std::get_if<field_error>(&member)) {
    co_return field_reply(*fe);
  }
  auto* d = c.st.dir_admin;
  auto addr = full_address(c, c.params.at("address"));
  auto m = full_address(c, *std::get<0>(member));
  c.audit_target = addr;
  c.audit_detail["member"] = m;
  auto r = co_await run_dir(c, [d, &a = c.actor, &addr, &m] { return d->add_list_member(a, addr, m); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  auto l = co_await run_dir(c, [d, &a = c.actor, &addr] { return d->show_list(a, addr); });
  if (!l.r) {
    co_return dir_error_reply(l.r.error(), l.detail);
  }
  co_return json_reply(list_json(*l.r), 201);
}

asio::awaitable<response> list_member_remove(call& c) {
  auto* d = c.st.dir_admin;
  auto addr = full_address(c, c.params.at("address"));
  auto m = full_address(c, c.params.at("member"));
  c.audit_target = addr;
  c.audit_detail["member"] = m;
  auto r = co_await run_dir(c, [d, &a = c.actor, &addr, &m] { return d->remove_list_member(a, addr, m); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  response out;
  out.status = 204;
  co_return out;
}

asio::awaitable<response> lists_list(call& c) {
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor] { return d->list_lists(a); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  json::array arr;
  for (const auto& l : *r.r) {
    arr.push_back(list_json(l, false));
  }
  json::object o;
  o["lists"] = std::move(arr);
  co_return json_reply(o);
}

// PATCH /lists/{address}: name, policy, posters (the whole set).
asio::awaitable<response> list_patch(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    co_return field_reply(*fe);
  }
  const auto& b = std::get<json::object>(parsed);
  if (auto fe = only_fields(b, {"name", "policy", "posters"})) {
    co_return field_reply(*fe);
  }
  auto name = get_string(b, "name", 256, false);
  auto policy = get_string(b, "policy", 32, false);
  auto posters = get_string_list(b, "posters", 200);
  for (const field_error* fe :
       {std::get_if<field_error>(&name), std::get_if<field_error>(&policy), std::get_if<field_error>(&posters)}) {
    if (fe) {
      co_return field_reply(*fe);
    }
  }
  directory::list_changes ch;
  ch.display_name = std::get<0>(name);
  if (ch.display_name && ch.display_name->empty()) {
    co_return field_reply({"name", "name: must not be empty"});
  }
  if (auto p = std::get<0>(policy)) {
    ch.policy = parse_policy(*p);
    if (!ch.policy) {
      co_return field_reply({"policy", "policy: one of anyone, authenticated, members, moderators"});
    }
  }
  if (auto& ps = std::get<0>(posters)) {
    std::vector<std::string> full;
    for (const auto& x : *ps) {
      full.push_back(full_address(c, x));
    }
    ch.posters = std::move(full);
  }
  auto addr = full_address(c, c.params.at("address"));
  c.audit_target = addr;
  for (const auto& kv : b) {
    c.audit_detail[kv.key()] = kv.value();
  }
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &addr, &ch] { return d->modify_list(a, addr, ch); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  co_return json_reply(list_json(*r.r));
}

// GET /admins?role=unit-admin: who holds a role, in the caller's scope.
asio::awaitable<response> admins_list(call& c) {
  auto role_name = c.req.query.count("role") ? c.req.query.at("role") : std::string{};
  auto role = role_name.empty() ? std::optional(directory::role::none) : directory::parse_role(role_name);
  if (!role || (!role_name.empty() && *role == directory::role::none)) {
    co_return field_reply({"role", "role: province-admin, unit-admin or auditor"});
  }
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor, &role] { return d->list_role_holders(a, *role); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  json::array arr;
  for (const auto& h : *r.r) {
    json::object o;
    o["id"] = h.acct.id;
    o["address"] = h.acct.address;
    o["name"] = h.acct.display_name;
    o["unit"] = h.acct.unit;
    o["enabled"] = h.acct.enabled;
    o["role"] = std::string(directory::to_string(h.r));
    o["units"] = strings(h.units);
    arr.push_back(std::move(o));
  }
  json::object o;
  o["admins"] = std::move(arr);
  co_return json_reply(o);
}

namespace {

// Grant (add) or revoke (remove) unit `id` in an account's unit-admin
// role. The directory allows it to province administrators only; an
// account holding another role is left alone (409): its roles are changed
// with homthuctl, on purpose.
asio::awaitable<response> change_unit_admin(call& c, const std::string& account, bool grant) {
  auto* d = c.st.dir_admin;
  const auto unit = c.params.at("id");
  c.audit_target = unit;
  c.audit_detail["account"] = account;
  auto cur = co_await run_dir(c, [d, &a = c.actor, &account] { return d->roles_of(a, account); });
  if (!cur.r) {
    co_return dir_error_reply(cur.r.error(), cur.detail);
  }
  if (cur.r->r == directory::role::province_admin || cur.r->r == directory::role::auditor) {
    co_return json_error(409, "this account is a " + std::string(directory::to_string(cur.r->r)) +
                                  "; change its roles with homthuctl");
  }
  std::vector<std::string> units = cur.r->r == directory::role::unit_admin ? cur.r->units : std::vector<std::string>{};
  auto at = std::find(units.begin(), units.end(), unit);
  if (grant) {
    if (at != units.end()) {
      co_return json_error(409, "already an administrator of this unit");
    }
    units.push_back(unit);
  } else {
    if (at == units.end()) {
      co_return json_error(404, "not an administrator of this unit");
    }
    units.erase(at);
  }
  std::vector<directory::role> roles;
  if (!units.empty()) {
    roles.push_back(directory::role::unit_admin);
  }
  auto r = co_await run_dir(c, [d, &a = c.actor, &account, &roles, &units] { return d->set_roles(a, account, roles, units); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  auto& st = c.st;
  auto acct = co_await st.svc.workers.run([&st, &account] { return st.svc.dir.find_account(account); });
  if (acct) {
    // Its sessions carry the old role; it signs in again with the new one.
    st.sessions.remove_account(acct->id);
    c.audit_detail["account"] = acct->address;
  }
  st.accounts.clear();
  c.audit_detail["units"] = strings(units);
  json::object o;
  o["account"] = acct ? acct->address : account;
  o["role"] = units.empty() ? "none" : "unit-admin";
  o["units"] = strings(units);
  co_return json_reply(o, grant ? 201 : 200);
}

}  // namespace

asio::awaitable<response> unit_admin_grant(call& c) {
  auto parsed = parse_object(c.req.body);
  if (auto* fe = std::get_if<field_error>(&parsed)) {
    co_return field_reply(*fe);
  }
  auto account = get_string(std::get<json::object>(parsed), "account", 320, true);
  if (auto* fe = std::get_if<field_error>(&account)) {
    co_return field_reply(*fe);
  }
  const std::string who = **std::get_if<std::optional<std::string>>(&account);
  co_return co_await change_unit_admin(c, who, true);
}

asio::awaitable<response> unit_admin_revoke(call& c) {
  const std::string who = c.params.at("account");
  co_return co_await change_unit_admin(c, who, false);
}

}  // namespace homthu::admin
