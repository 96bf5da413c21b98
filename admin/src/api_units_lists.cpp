// /api/v1/units (the tree with account counts) and /api/v1/lists
// (distribution lists: members, who may post). Authorisation in
// directory_admin; lists are reached by address because the directory
// offers no enumeration of lists yet.
#include "api.hpp"

#include "homthu/common/address.hpp"

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

json::object list_json(const directory::list_info& l) {
  json::object o;
  o["address"] = l.address;
  o["name"] = l.display_name;
  o["unit"] = l.unit;
  o["policy"] = std::string(policy_name(l.policy));
  json::array m, p;
  for (const auto& x : l.members) {
    m.emplace_back(x);
  }
  for (const auto& x : l.posters) {
    p.emplace_back(x);
  }
  o["members"] = std::move(m);
  o["posters"] = std::move(p);
  return o;
}

std::string full_address(const call& c, std::string a) {
  if (a.find('@') == std::string::npos && !c.st.svc.cfg.server.domains.empty()) {
    a += "@" + c.st.svc.cfg.server.domains.front();
  }
  return common::to_lower_ascii(a);
}

}  // namespace

asio::awaitable<response> units_list(call& c) {
  auto* d = c.st.dir_admin;
  auto r = co_await run_dir(c, [d, &a = c.actor] { return d->list_units(a); });
  if (!r.r) {
    co_return dir_error_reply(r.r.error(), r.detail);
  }
  // Totals include every unit below: a district's count covers its communes.
  std::map<std::string, std::uint64_t> total;
  std::map<std::string, std::string> parent;
  for (const auto& u : *r.r) {
    parent[u.id] = u.parent;
  }
  for (const auto& u : *r.r) {
    std::string p = u.id;
    for (int depth = 0; !p.empty() && depth < 16; ++depth) {
      total[p] += u.accounts;
      p = parent.count(p) ? parent[p] : std::string{};
    }
  }
  json::array arr;
  for (const auto& u : *r.r) {
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

}  // namespace homthu::admin
