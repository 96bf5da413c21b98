// `homthuctl demo ldif`: writes the demo province (LDIF for slapadd and a
// TSV of accounts) for quickstart, tests and benchmarks. Hashes the demo
// password once; every demo account shares that hash.
#include "ctl/directory_ctl.hpp"

#include "homthu/common/config.hpp"
#include "homthu/directory/demo.hpp"
#include "homthu/directory/password.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>

namespace homthu::ctl::dir {

namespace {

constexpr const char* demo_help =
    "usage: homthuctl [--config FILE] demo ldif --users N [--seed S] --password-stdin --out DIR\n"
    "                 [--domain DOMAIN] [--base-dn DN]\n\n"
    "Writes DIR/demo.ldif (units, accounts, one list per unit, toantinh@), DIR/accounts.tsv\n"
    "(address, id, name, unit) and DIR/admins.tsv (admin@, one unit administrator per\n"
    "district, an auditor). Every account takes the password read from stdin. The Argon2id\n"
    "cost comes from FILE's [argon2] section when FILE exists, else the defaults.\n";

bool parse_unsigned(const std::string& s, std::uint64_t& out) {
  if (s.empty() || s.size() > 19) {
    return false;
  }
  out = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return false;
    }
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

int run_demo(const context& ctx, const std::vector<std::string>& args) {
  auto p = parse_args(args, {"users", "seed", "out", "domain", "base-dn"}, {"password-stdin"});
  if (p.help) {
    std::cout << demo_help;
    return exit_ok;
  }
  if (!p.error.empty() || p.positional.size() != 1 || p.positional[0] != "ldif" ||
      !p.value("users") || !p.value("out") || !p.has("password-stdin")) {
    std::cerr << "homthuctl demo: " << (p.error.empty() ? "bad arguments" : p.error) << "\n"
              << demo_help;
    return exit_usage;
  }
  directory::demo::options opt;
  std::uint64_t n = 0;
  if (!parse_unsigned(*p.value("users"), n) || n > 1000000) {
    std::cerr << "homthuctl demo: --users must be a number up to 1000000\n";
    return exit_usage;
  }
  opt.users = static_cast<unsigned>(n);
  if (auto s = p.value("seed"); s && !parse_unsigned(*s, opt.seed)) {
    std::cerr << "homthuctl demo: --seed must be a number\n";
    return exit_usage;
  }
  if (auto d = p.value("domain")) {
    opt.domain = *d;
  }
  if (auto b = p.value("base-dn")) {
    opt.base_dn = *b;
  }
  common::argon2_config cost;
  std::error_code ec;
  if (!ctx.config_path.empty() && std::filesystem::exists(ctx.config_path, ec)) {
    auto cfg = common::load_config(ctx.config_path);
    cost = cfg.argon2;
    if (!p.value("base-dn")) {
      opt.base_dn = cfg.ldap.base_dn;
    }
    if (!p.value("domain") && !cfg.server.domains.empty()) {
      opt.domain = cfg.server.domains.front();
    }
  }
  auto password = read_password_stdin();
  if (!password) {
    std::cerr << "homthuctl demo: no password on stdin\n";
    return exit_usage;
  }
  if (auto why = directory::password_problem(*password); !why.empty()) {
    std::cerr << "homthuctl demo: " << why << "\n";
    return exit_usage;
  }
  auto hash = directory::hash_password(*password, cost);
  if (!hash) {
    std::cerr << "homthuctl demo: hashing the password failed\n";
    return exit_failed;
  }
  opt.password_hash = *hash;

  std::filesystem::path out_dir(*p.value("out"));
  std::filesystem::create_directories(out_dir);
  auto province = directory::demo::make_province(opt);
  {
    std::ofstream ldif(out_dir / "demo.ldif", std::ios::binary | std::ios::trunc);
    directory::demo::write_ldif(province, opt, ldif);
    std::ofstream tsv(out_dir / "accounts.tsv", std::ios::binary | std::ios::trunc);
    directory::demo::write_accounts_tsv(province, tsv);
    std::ofstream admins(out_dir / "admins.tsv", std::ios::binary | std::ios::trunc);
    directory::demo::write_admins_tsv(province, admins);
    if (!ldif || !tsv || !admins) {
      std::cerr << "homthuctl demo: cannot write to " << out_dir << "\n";
      return exit_failed;
    }
  }
  std::cout << "demo: " << province.units.size() << " units, " << province.people.size()
            << " accounts, " << province.admins.size() << " administrators in " << out_dir.string()
            << "\n";
  return exit_ok;
}

}  // namespace

std::vector<command> demo_commands() {
  return {{"demo", "write the demo province as LDIF (demo ldif --users N --out DIR)", run_demo}};
}

}  // namespace homthu::ctl::dir
