// homthuctl user / unit / alias / list / apppass: provisioning from a shell.
// Acts with homthud's service credentials from the config (full rights), or
// as an administrator account with --as ACCOUNT, in which case that
// account's role limits apply exactly as in the console.
//
// Output is for people (table) or scripts (csv, json); errors go to stderr
// as "homthuctl CMD: reason" with the exit codes of command.hpp.
#include "ctl/directory_ctl.hpp"

#include "homthu/common/config.hpp"
#include "homthu/common/log.hpp"
#include "homthu/directory/ldap_directory.hpp"
#include "homthu/directory/password.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iostream>
#include <sstream>

namespace homthu::ctl::dir {

namespace {

using namespace homthu::directory;

std::size_t display_width(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xc0) != 0x80) {
      ++n;
    }
  }
  return n;
}

void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> w(header.size());
  for (std::size_t i = 0; i < header.size(); ++i) {
    w[i] = display_width(header[i]);
  }
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size() && i < w.size(); ++i) {
      w[i] = std::max(w[i], display_width(r[i]));
    }
  }
  auto line = [&](const std::vector<std::string>& r) {
    std::string out;
    for (std::size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) {
        out.append(w[i] - display_width(r[i]) + 2, ' ');
      }
    }
    std::cout << out << '\n';
  };
  line(header);
  for (const auto& r : rows) {
    line(r);
  }
}

// RFC 4180: quote fields holding a comma, quote or line break.
std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) {
    return s;
  }
  std::string out = "\"";
  for (char c : s) {
    out += c;
    if (c == '"') {
      out += '"';
    }
  }
  return out + "\"";
}

void print_csv(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  auto line = [](const std::vector<std::string>& r) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      std::cout << (i ? "," : "") << csv_field(r[i]);
    }
    std::cout << "\r\n";
  };
  line(header);
  for (const auto& r : rows) {
    line(r);
  }
}

boost::json::object account_json(const account& a) {
  boost::json::object o;
  o["address"] = a.address;
  o["id"] = a.id;
  o["name"] = a.display_name;
  o["unit"] = a.unit;
  o["quota"] = a.quota_bytes;
  o["quota_messages"] = a.quota_messages;
  o["enabled"] = a.enabled;
  boost::json::array al(a.aliases.begin(), a.aliases.end());
  o["aliases"] = al;
  o["forward_to"] = boost::json::array(a.forward_to.begin(), a.forward_to.end());
  o["send_as"] = boost::json::array(a.send_as.begin(), a.send_as.end());
  o["dn"] = a.dn;
  return o;
}

// The command's runtime: config, directory, actor and error reporting.
struct session {
  std::string cmd;
  std::unique_ptr<ldap_directory> dir;
  actor who = actor::system_actor();

  int report(const boost::system::error_code& ec) const {
    std::string detail = last_error_detail();
    std::cerr << "homthuctl " << cmd << ": " << ec.message();
    if (!detail.empty() && ec != error::unavailable) {
      std::cerr << ": " << detail;
    }
    std::cerr << "\n";
    return ec == error::unavailable ? exit_temporary : exit_failed;
  }
};

// Opens the directory named by the config; prints and returns the exit code
// on failure.
std::optional<int> open_session(const context& ctx, const parsed_args& p, session& s) {
  common::log::set_level(common::log::level::error);
  common::config cfg;
  try {
    cfg = common::load_config(ctx.config_path);
  } catch (const std::exception& e) {
    std::cerr << "homthuctl " << s.cmd << ": " << e.what() << "\n";
    return exit_failed;
  }
  s.dir = open_ldap(cfg);
  if (auto as = p.value("as")) {
    s.who = actor::account(*as);
  }
  return std::nullopt;
}

int usage_error(const std::string& cmd, const std::string& why, const char* help) {
  std::cerr << "homthuctl " << cmd << ": " << why << "\n" << help;
  return exit_usage;
}

std::optional<std::string> format_of(const parsed_args& p, std::initializer_list<const char*> allowed) {
  std::string f = p.value("format").value_or("table");
  for (auto a : allowed) {
    if (f == a) {
      return f;
    }
  }
  return std::nullopt;
}

// ---- user ---------------------------------------------------------------

constexpr const char* user_help =
    "usage: homthuctl [--config FILE] user SUBCOMMAND ... [--as ACCOUNT]\n\n"
    "  user add ADDRESS --name NAME --unit UNIT [--quota SIZE] [--password-stdin]\n"
    "        without --password-stdin a password is generated and printed once\n"
    "  user passwd ADDRESS --password-stdin\n"
    "  user disable|enable|delete ADDRESS\n"
    "  user show ADDRESS [--format table|json]\n"
    "  user list [--unit UNIT] [--search TEXT] [--format table|csv|json]\n"
    "  user move ADDRESS UNIT\n"
    "  user set ADDRESS [--name NAME] [--quota SIZE] [--forward ADDR,...] [--send-as ADDR,...]\n"
    "  user role ADDRESS province-admin|unit-admin|auditor|none [--unit UNIT,...]\n"
    "  user check LOGIN --password-stdin [--service imap|smtp]\n"
    "        checks a password (or app password) as the IMAP or SMTP server would\n\n"
    "ADDRESS is an address, alias or account id. UNIT is a unit id (homthuctl unit list).\n"
    "SIZE takes K/M/G suffixes; 0 is unlimited. --as ACCOUNT acts with that account's role.\n"
    "Exit: 0 ok, 1 failed, 2 usage, 3 directory temporarily unavailable.\n";

std::vector<std::string> split_commas(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, ',')) {
    if (!cur.empty()) {
      out.push_back(cur);
    }
  }
  return out;
}

int run_user(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"name", "unit", "quota", "format", "as", "search", "forward", "send-as", "service"},
                      {"password-stdin"});
  if (p.help) {
    std::cout << user_help;
    return exit_ok;
  }
  if (!p.error.empty()) {
    return usage_error("user", p.error, user_help);
  }
  if (p.positional.empty()) {
    return usage_error("user", "missing subcommand", user_help);
  }
  const std::string sub = p.positional[0];
  session s{"user " + sub, nullptr};
  auto need = [&](std::size_t n) { return p.positional.size() == n + 1; };

  if (sub == "add") {
    if (!need(1) || !p.value("name") || !p.value("unit")) {
      return usage_error(s.cmd, "needs ADDRESS --name NAME --unit UNIT", user_help);
    }
    new_account a;
    a.address = p.positional[1];
    a.display_name = *p.value("name");
    a.unit = *p.value("unit");
    if (auto q = p.value("quota"); q && !common::parse_size(*q, a.quota_bytes)) {
      return usage_error(s.cmd, "bad --quota " + *q, user_help);
    }
    bool generated = false;
    if (p.has("password-stdin")) {
      auto pw = read_password_stdin();
      if (!pw) {
        return usage_error(s.cmd, "no password on stdin", user_help);
      }
      a.password = *pw;
    } else {
      a.password = random_password(4);
      generated = true;
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->create_account(s.who, a);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "created " << r->address << " (" << r->id << ") in " << r->unit << "\n";
    if (generated) {
      std::cout << "password: " << a.password << "\n";
    }
    return exit_ok;
  }
  if (sub == "passwd") {
    if (!need(1) || !p.has("password-stdin")) {
      return usage_error(s.cmd, "needs ADDRESS --password-stdin", user_help);
    }
    auto pw = read_password_stdin();
    if (!pw) {
      return usage_error(s.cmd, "no password on stdin", user_help);
    }
    if (auto why = password_problem(*pw); !why.empty()) {
      std::cerr << "homthuctl " << s.cmd << ": " << why << "\n";
      return exit_failed;
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->set_password(s.who, p.positional[1], *pw);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "password changed for " << p.positional[1] << "\n";
    return exit_ok;
  }
  if (sub == "disable" || sub == "enable" || sub == "delete") {
    if (!need(1)) {
      return usage_error(s.cmd, "needs ADDRESS", user_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = sub == "delete" ? s.dir->delete_account(s.who, p.positional[1])
                             : s.dir->set_enabled(s.who, p.positional[1], sub == "enable");
    if (!r) {
      return s.report(r.error());
    }
    std::cout << sub << "d " << p.positional[1] << "\n";
    return exit_ok;
  }
  if (sub == "show") {
    auto fmt = format_of(p, {"table", "json"});
    if (!need(1) || !fmt) {
      return usage_error(s.cmd, "needs ADDRESS [--format table|json]", user_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    // Reading through the admin interface applies the actor's read scope.
    auto acct = s.dir->find_account(p.positional[1]);
    if (!acct) {
      return s.report(acct.error());
    }
    auto roles = s.dir->roles_of(s.who, acct->id);
    if (!roles) {
      return s.report(roles.error());
    }
    auto apps = s.dir->list_app_passwords(s.who, acct->id);
    if (!apps) {
      return s.report(apps.error());
    }
    if (*fmt == "json") {
      auto o = account_json(*acct);
      o["role"] = std::string(to_string(roles->r));
      o["admin_units"] = boost::json::array(roles->units.begin(), roles->units.end());
      o["app_passwords"] = apps->size();
      std::cout << boost::json::serialize(o) << "\n";
      return exit_ok;
    }
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) {
        out += (out.empty() ? "" : ", ") + x;
      }
      return out.empty() ? std::string("-") : out;
    };
    std::vector<std::vector<std::string>> rows = {
        {"address", acct->address},
        {"id", acct->id},
        {"name", acct->display_name},
        {"unit", acct->unit},
        {"enabled", acct->enabled ? "yes" : "no"},
        {"quota", acct->quota_bytes ? std::to_string(acct->quota_bytes) : "unlimited"},
        {"quota messages", acct->quota_messages ? std::to_string(acct->quota_messages) : "unlimited"},
        {"aliases", join(acct->aliases)},
        {"forward to", join(acct->forward_to)},
        {"send as", join(acct->send_as)},
        {"role", std::string(to_string(roles->r)) + (roles->units.empty() ? "" : " (" + join(roles->units) + ")")},
        {"app passwords", std::to_string(apps->size())},
        {"dn", acct->dn},
    };
    print_table({"field", "value"}, rows);
    return exit_ok;
  }
  if (sub == "list") {
    auto fmt = format_of(p, {"table", "csv", "json"});
    if (!need(0) || !fmt) {
      return usage_error(s.cmd, "bad arguments", user_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    account_query q;
    q.unit = p.value("unit").value_or("");
    q.text = p.value("search").value_or("");
    auto page = s.dir->list_accounts(s.who, q);
    if (!page) {
      return s.report(page.error());
    }
    if (*fmt == "json") {
      boost::json::array a;
      for (const auto& x : page->accounts) {
        a.push_back(account_json(x));
      }
      std::cout << boost::json::serialize(a) << "\n";
      return exit_ok;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : page->accounts) {
      rows.push_back({x.address, x.display_name, x.unit, std::to_string(x.quota_bytes), x.enabled ? "yes" : "no"});
    }
    if (*fmt == "csv") {
      print_csv({"address", "name", "unit", "quota", "enabled"}, rows);
    } else {
      print_table({"address", "name", "unit", "quota", "enabled"}, rows);
    }
    return exit_ok;
  }
  if (sub == "move") {
    if (!need(2)) {
      return usage_error(s.cmd, "needs ADDRESS UNIT", user_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->move_account(s.who, p.positional[1], p.positional[2]);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "moved " << r->address << " to " << r->unit << "\n";
    return exit_ok;
  }
  if (sub == "set") {
    if (!need(1)) {
      return usage_error(s.cmd, "needs ADDRESS", user_help);
    }
    account_changes c;
    if (auto v = p.value("name")) {
      c.display_name = *v;
    }
    if (auto v = p.value("quota")) {
      std::uint64_t q = 0;
      if (!common::parse_size(*v, q)) {
        return usage_error(s.cmd, "bad --quota " + *v, user_help);
      }
      c.quota_bytes = q;
    }
    if (auto v = p.value("forward")) {
      c.forward_to = split_commas(*v);
    }
    if (auto v = p.value("send-as")) {
      c.send_as = split_commas(*v);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->modify_account(s.who, p.positional[1], c);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "updated " << r->address << "\n";
    return exit_ok;
  }
  if (sub == "role") {
    if (!need(2)) {
      return usage_error(s.cmd, "needs ADDRESS ROLE", user_help);
    }
    auto ro = parse_role(p.positional[2]);
    if (!ro) {
      return usage_error(s.cmd, "unknown role " + p.positional[2], user_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->set_roles(s.who, p.positional[1], {*ro}, split_commas(p.value("unit").value_or("")));
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "role of " << p.positional[1] << ": " << to_string(*ro) << "\n";
    return exit_ok;
  }
  if (sub == "check") {
    std::string svc_name = p.value("service").value_or("imap");
    if (!need(1) || !p.has("password-stdin") || (svc_name != "imap" && svc_name != "smtp")) {
      return usage_error(s.cmd, "needs LOGIN --password-stdin [--service imap|smtp]", user_help);
    }
    auto pw = read_password_stdin();
    if (!pw) {
      return usage_error(s.cmd, "no password on stdin", user_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->authenticate(p.positional[1], *pw, svc_name == "smtp" ? service::smtp : service::imap);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "ok " << r->acct.address;
    if (r->app_password) {
      std::cout << " (app password \"" << r->app_password_label << "\")";
    }
    std::cout << "\n";
    return exit_ok;
  }
  return usage_error("user", "unknown subcommand " + sub, user_help);
}

// ---- unit ---------------------------------------------------------------

constexpr const char* unit_help =
    "usage: homthuctl [--config FILE] unit list [--format table|csv|json] [--as ACCOUNT]\n\n"
    "Lists units: id (the UNIT argument of other commands), Vietnamese name, parent,\n"
    "tier and the number of accounts directly in the unit.\n";

int run_unit(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"format", "as"}, {});
  if (p.help) {
    std::cout << unit_help;
    return exit_ok;
  }
  auto fmt = format_of(p, {"table", "csv", "json"});
  if (!p.error.empty() || p.positional.size() != 1 || p.positional[0] != "list" || !fmt) {
    return usage_error("unit", p.error.empty() ? "bad arguments" : p.error, unit_help);
  }
  session s{"unit list", nullptr};
  if (auto e = open_session(ctx, p, s)) {
    return *e;
  }
  auto units = s.dir->list_units(s.who);
  if (!units) {
    return s.report(units.error());
  }
  if (*fmt == "json") {
    boost::json::array a;
    for (const auto& u : *units) {
      a.push_back(boost::json::object{{"id", u.id}, {"name", u.name}, {"parent", u.parent},
                                      {"kind", u.kind}, {"accounts", u.accounts}});
    }
    std::cout << boost::json::serialize(a) << "\n";
    return exit_ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : *units) {
    rows.push_back({u.id, u.name, u.parent, u.kind, std::to_string(u.accounts)});
  }
  if (*fmt == "csv") {
    print_csv({"id", "name", "parent", "kind", "accounts"}, rows);
  } else {
    print_table({"id", "name", "parent", "kind", "accounts"}, rows);
  }
  return exit_ok;
}

// ---- alias --------------------------------------------------------------

constexpr const char* alias_help =
    "usage: homthuctl [--config FILE] alias add|remove ADDRESS ALIAS [--as ACCOUNT]\n\n"
    "Adds or removes ALIAS (an address in a local domain) on the account ADDRESS.\n";

int run_alias(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"as"}, {});
  if (p.help) {
    std::cout << alias_help;
    return exit_ok;
  }
  if (!p.error.empty() || p.positional.size() != 3 ||
      (p.positional[0] != "add" && p.positional[0] != "remove")) {
    return usage_error("alias", p.error.empty() ? "bad arguments" : p.error, alias_help);
  }
  session s{"alias " + p.positional[0], nullptr};
  if (auto e = open_session(ctx, p, s)) {
    return *e;
  }
  auto r = p.positional[0] == "add" ? s.dir->add_alias(s.who, p.positional[1], p.positional[2])
                                    : s.dir->remove_alias(s.who, p.positional[1], p.positional[2]);
  if (!r) {
    return s.report(r.error());
  }
  std::cout << (p.positional[0] == "add" ? "added alias " : "removed alias ") << p.positional[2] << "\n";
  return exit_ok;
}

// ---- list ---------------------------------------------------------------

constexpr const char* list_help =
    "usage: homthuctl [--config FILE] list SUBCOMMAND ... [--as ACCOUNT]\n\n"
    "  list add ADDRESS [--name NAME] [--unit UNIT] [--policy anyone|authenticated|members|moderators]\n"
    "        without --unit the list is province-wide (province administrators only)\n"
    "  list show ADDRESS [--format table|json]\n"
    "  list member-add LIST MEMBER\n"
    "  list member-remove LIST MEMBER\n"
    "  list delete LIST\n";

std::optional<post_policy> parse_policy_arg(const std::string& s) {
  if (s == "anyone") return post_policy::anyone;
  if (s == "authenticated") return post_policy::authenticated;
  if (s == "members") return post_policy::members;
  if (s == "moderators") return post_policy::moderators;
  return std::nullopt;
}

const char* policy_text(post_policy p) {
  switch (p) {
    case post_policy::anyone: return "anyone";
    case post_policy::authenticated: return "authenticated";
    case post_policy::members: return "members";
    case post_policy::moderators: return "moderators";
  }
  return "authenticated";
}

int run_list(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"name", "unit", "policy", "format", "as"}, {});
  if (p.help) {
    std::cout << list_help;
    return exit_ok;
  }
  if (!p.error.empty() || p.positional.empty()) {
    return usage_error("list", p.error.empty() ? "missing subcommand" : p.error, list_help);
  }
  const std::string sub = p.positional[0];
  session s{"list " + sub, nullptr};
  auto need = [&](std::size_t n) { return p.positional.size() == n + 1; };
  if (sub == "add") {
    auto policy = parse_policy_arg(p.value("policy").value_or("authenticated"));
    if (!need(1) || !policy) {
      return usage_error(s.cmd, "needs ADDRESS [--name NAME] [--unit UNIT] [--policy P]", list_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->create_list(s.who, p.positional[1], p.value("name").value_or(""), p.value("unit").value_or(""),
                                *policy);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "created list " << r->address << "\n";
    return exit_ok;
  }
  if (sub == "show") {
    auto fmt = format_of(p, {"table", "json"});
    if (!need(1) || !fmt) {
      return usage_error(s.cmd, "needs ADDRESS [--format table|json]", list_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->show_list(s.who, p.positional[1]);
    if (!r) {
      return s.report(r.error());
    }
    if (*fmt == "json") {
      boost::json::object o{{"address", r->address}, {"name", r->display_name}, {"unit", r->unit},
                            {"policy", policy_text(r->policy)}};
      o["members"] = boost::json::array(r->members.begin(), r->members.end());
      o["posters"] = boost::json::array(r->posters.begin(), r->posters.end());
      std::cout << boost::json::serialize(o) << "\n";
      return exit_ok;
    }
    std::cout << "address: " << r->address << "\nname: " << r->display_name
              << "\nunit: " << (r->unit.empty() ? "(province)" : r->unit) << "\npolicy: " << policy_text(r->policy)
              << "\nmembers: " << r->members.size() << "\n";
    for (const auto& m : r->members) {
      std::cout << "  " << m << "\n";
    }
    return exit_ok;
  }
  if (sub == "member-add" || sub == "member-remove") {
    if (!need(2)) {
      return usage_error(s.cmd, "needs LIST MEMBER", list_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = sub == "member-add" ? s.dir->add_list_member(s.who, p.positional[1], p.positional[2])
                                 : s.dir->remove_list_member(s.who, p.positional[1], p.positional[2]);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << (sub == "member-add" ? "added " : "removed ") << p.positional[2] << "\n";
    return exit_ok;
  }
  if (sub == "delete") {
    if (!need(1)) {
      return usage_error(s.cmd, "needs LIST", list_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->delete_list(s.who, p.positional[1]);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "deleted list " << p.positional[1] << "\n";
    return exit_ok;
  }
  return usage_error("list", "unknown subcommand " + sub, list_help);
}

// ---- apppass ------------------------------------------------------------

constexpr const char* apppass_help =
    "usage: homthuctl [--config FILE] apppass SUBCOMMAND ... [--as ACCOUNT]\n\n"
    "  apppass add ADDRESS --label LABEL [--smtp-only]   prints the new password once\n"
    "  apppass list ADDRESS [--format table|json]\n"
    "  apppass revoke ADDRESS ID\n\n"
    "An app password logs in to IMAP and SMTP (or SMTP submission only, with --smtp-only,\n"
    "for agency systems that send notifications).\n";

int run_apppass(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"label", "format", "as"}, {"smtp-only"});
  if (p.help) {
    std::cout << apppass_help;
    return exit_ok;
  }
  if (!p.error.empty() || p.positional.empty()) {
    return usage_error("apppass", p.error.empty() ? "missing subcommand" : p.error, apppass_help);
  }
  const std::string sub = p.positional[0];
  session s{"apppass " + sub, nullptr};
  if (sub == "add") {
    if (p.positional.size() != 2 || !p.value("label")) {
      return usage_error(s.cmd, "needs ADDRESS --label LABEL", apppass_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->add_app_password(s.who, p.positional[1], *p.value("label"), p.has("smtp-only"));
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "id: " << r->info.id << "\nlabel: " << r->info.label
              << "\nscope: " << (r->info.smtp_only ? "smtp" : "smtp, imap") << "\npassword: " << r->password
              << "\n(shown once; store it in the application now)\n";
    return exit_ok;
  }
  if (sub == "list") {
    auto fmt = format_of(p, {"table", "json"});
    if (p.positional.size() != 2 || !fmt) {
      return usage_error(s.cmd, "needs ADDRESS", apppass_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->list_app_passwords(s.who, p.positional[1]);
    if (!r) {
      return s.report(r.error());
    }
    if (*fmt == "json") {
      boost::json::array a;
      for (const auto& x : *r) {
        a.push_back(boost::json::object{
            {"id", x.id}, {"label", x.label}, {"smtp_only", x.smtp_only}, {"created", x.created}});
      }
      std::cout << boost::json::serialize(a) << "\n";
      return exit_ok;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& x : *r) {
      rows.push_back({x.id, x.label, x.smtp_only ? "smtp" : "smtp, imap", std::to_string(x.created)});
    }
    print_table({"id", "label", "scope", "created"}, rows);
    return exit_ok;
  }
  if (sub == "revoke") {
    if (p.positional.size() != 3) {
      return usage_error(s.cmd, "needs ADDRESS ID", apppass_help);
    }
    if (auto e = open_session(ctx, p, s)) {
      return *e;
    }
    auto r = s.dir->revoke_app_password(s.who, p.positional[1], p.positional[2]);
    if (!r) {
      return s.report(r.error());
    }
    std::cout << "revoked " << p.positional[2] << "\n";
    return exit_ok;
  }
  return usage_error("apppass", "unknown subcommand " + sub, apppass_help);
}

}  // namespace

std::vector<command> account_commands() {
  return {
      {"user", "accounts: add, passwd, disable, enable, delete, show, list, move, set, role, check", run_user},
      {"unit", "units of the province with account counts (unit list)", run_unit},
      {"alias", "alias addresses of an account (alias add|remove ADDRESS ALIAS)", run_alias},
      {"list", "distribution lists: add, show, member-add, member-remove, delete", run_list},
      {"apppass", "app passwords: add, list, revoke", run_apppass},
  };
}

}  // namespace homthu::ctl::dir
