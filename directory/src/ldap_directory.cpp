// The OpenLDAP backend: authentication, recipient resolution, provisioning.
//
// Trusts: slapd's content (our own directory) and the acting account named by
// the caller (the console and homthuctl authenticate it first). Trusts
// nothing in logins, addresses, labels or names: every value reaching a
// filter is escaped (RFC 4515), every DN is built from validated ids or DNs
// slapd returned.
//
// Invariants: "unavailable" is never turned into "not found"; a write
// through this object drops the lookup caches and that account's cached
// authentications before it returns; passwords are never logged or kept,
// only their keyed hashes in the authentication cache.
#include "homthu/directory/ldap_directory.hpp"

#include "cache.hpp"
#include "homthu/common/address.hpp"
#include "homthu/common/log.hpp"
#include "homthu/directory/ldap_escape.hpp"
#include "homthu/directory/password.hpp"
#include "ldap_pool.hpp"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <ctime>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace homthu::directory {

namespace {

thread_local std::string error_detail;

boost::system::error_code fail(error e, std::string detail) {
  error_detail = std::move(detail);
  return make_error_code(e);
}

using detail::clock;

// Attributes read for accounts and lists.
const std::vector<std::string> entry_attrs = {
    "objectClass",      "uid",               "mail",           "cn",
    "displayName",      "homthuMailEnabled", "homthuQuotaBytes", "homthuQuotaMessages",
    "homthuMailAlias",  "homthuForwardTo",   "homthuSendAs",   "homthuAppPassword",
    "homthuRole",       "homthuAdminUnit",   "member",         "homthuListPostPolicy",
    "homthuListPoster"};

// How long an expired entry may still answer while slapd is unreachable.
constexpr std::chrono::hours max_stale{24};

std::string lower(std::string_view s) { return common::to_lower_ascii(s); }

bool ends_with_dn(const std::string& dn, const std::string& suffix) {
  auto d = lower(dn);
  auto s = lower(suffix);
  return d == s || (d.size() > s.size() && d.compare(d.size() - s.size(), s.size(), s) == 0 &&
                    d[d.size() - s.size() - 1] == ',');
}

// "uid=a,ou=x,ou=units,dc=…" → "ou=x,ou=units,dc=…" (first unescaped comma).
std::string parent_dn(std::string_view dn) {
  for (std::size_t i = 0; i < dn.size(); ++i) {
    if (dn[i] == '\\') {
      ++i;
    } else if (dn[i] == ',') {
      return std::string(dn.substr(i + 1));
    }
  }
  return {};
}

// The value of a DN's first RDN when its attribute is `attr` ("ou").
std::string first_rdn_value(std::string_view dn, std::string_view attr) {
  auto eq = dn.find('=');
  if (eq == std::string_view::npos || lower(dn.substr(0, eq)) != attr) {
    return {};
  }
  auto rest = dn.substr(eq + 1);
  std::string out;
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '\\' && i + 1 < rest.size()) {
      out += rest[++i];
    } else if (rest[i] == ',') {
      break;
    } else {
      out += rest[i];
    }
  }
  return out;
}

bool valid_text(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max) {
    return false;
  }
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) {
      return false;
    }
  }
  return is_valid_utf8(s);
}

std::uint64_t to_u64(const std::string& s) {
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return 0;
    }
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::string percent_encode(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '_' || c == '~' || c == '-') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string percent_decode(std::string_view s) {
  auto val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && val(s[i + 1]) >= 0 &&
        val(s[i + 2]) >= 0) {
      out += static_cast<char>(val(s[i + 1]) * 16 + val(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Generated app passwords look like "abcd-efgh-jkmn-pqrs" (random_password(4)).
bool looks_like_app_password(std::string_view p) {
  if (p.size() != 19) {
    return false;
  }
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (i % 5 == 4) {
      if (p[i] != '-') {
        return false;
      }
    } else if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9'))) {
      return false;
    }
  }
  return true;
}

struct stored_app_password {
  app_password_info info;
  std::string hash;
  std::string raw;  // the attribute value, for an exact LDAP_MOD_DELETE
};

std::optional<stored_app_password> parse_app_password(const std::string& v) {
  std::istringstream in(v);
  std::string id, flags, created, label, hash;
  if (!(in >> id >> flags >> created >> label >> hash)) {
    return std::nullopt;
  }
  stored_app_password p;
  p.info.id = id;
  p.info.smtp_only = flags == "smtp";
  p.info.created = static_cast<std::int64_t>(to_u64(created));
  p.info.label = percent_decode(label);
  p.hash = hash;
  p.raw = v;
  return p;
}

// Everything the module knows about one account entry.
struct record {
  account acct;
  std::vector<stored_app_password> app_passwords;
  std::vector<role> roles;
  std::vector<std::string> admin_unit_dns;
  bool has_aux = false;  // objectClass homthuMailAccount present
};

struct list_record {
  std::string dn;
  std::string address;
  std::string display_name;
  std::string unit;
  bool enabled = true;
  post_policy policy = post_policy::authenticated;
  std::vector<std::string> aliases;
  std::vector<std::string> member_dns;
  std::vector<std::string> posters;
};

post_policy parse_policy(const std::string& s) {
  auto l = lower(s);
  if (l == "anyone") return post_policy::anyone;
  if (l == "members") return post_policy::members;
  if (l == "moderators") return post_policy::moderators;
  return post_policy::authenticated;
}

std::string_view policy_name(post_policy p) {
  switch (p) {
    case post_policy::anyone: return "anyone";
    case post_policy::authenticated: return "authenticated";
    case post_policy::members: return "members";
    case post_policy::moderators: return "moderators";
  }
  return "authenticated";
}

bool is_list_entry(const ldap::entry& e) { return e.has_value("objectclass", "groupofnames"); }
bool is_person_entry(const ldap::entry& e) { return e.has_value("objectclass", "inetorgperson"); }

// Cached outcome of a lookup: a value or a definite error (not_found, disabled).
template <class T>
struct outcome {
  error err{};
  bool ok = false;
  T value{};
};

struct auth_entry {
  std::string account_id;
  std::shared_ptr<const record> rec;
  bool app_password = false;
  std::string label;
};

struct member_index {
  std::map<std::string, std::pair<std::string, bool>> by_dn;  // lower dn → (mail, enabled)
};

class ldap_directory_impl final : public ldap_directory {
 public:
  explicit ldap_directory_impl(const common::config& cfg) : cfg_(cfg) {
    ldap::settings s;
    s.uri = cfg.ldap.uri;
    s.bind_dn = cfg.ldap.bind_dn;
    s.bind_password = cfg.ldap.bind_password;
    if (!cfg.ldap.bind_password_file.empty()) {
      std::ifstream in(cfg.ldap.bind_password_file, std::ios::binary);
      if (!in) {
        throw common::config_error(cfg.source + ": ldap.bind_password_file: cannot read " +
                                   cfg.ldap.bind_password_file);
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      s.bind_password = ss.str();
      while (!s.bind_password.empty() &&
             (s.bind_password.back() == '\n' || s.bind_password.back() == '\r')) {
        s.bind_password.pop_back();
      }
    }
    s.timeout = cfg.ldap.timeout;
    s.size = cfg.ldap.pool_size;
    pool_ = std::make_unique<ldap::pool>(std::move(s));
    if (sodium_init() < 0) {
      throw std::runtime_error("libsodium failed to initialise");
    }
    crypto_generichash_keygen(auth_key_);
    base_ = cfg.ldap.base_dn;
    units_base_ = "ou=units," + base_;
    lists_base_ = "ou=lists," + base_;
    // Start-up never fails on an unreachable slapd: say so and carry on;
    // the pool connects by itself when it comes up.
    if (pool_->probe()) {
      common::log::info("directory.ready", {{"uri", cfg.ldap.uri}, {"base", base_}});
    } else {
      common::log::warn("directory.start_unavailable",
                        {{"uri", cfg.ldap.uri},
                         {"detail", "slapd unreachable; answering with temporary failures until it is"}});
    }
  }

  // ---- directory -------------------------------------------------------

  result<auth_result> authenticate(std::string_view login, std::string_view password,
                                   service svc) override {
    if (login.empty() || login.size() > 320 || password.empty() || password.size() > 1024) {
      return make_error_code(error::invalid_credentials);
    }
    auto key_login = login_key(login);
    if (!key_login) {
      return make_error_code(error::invalid_credentials);
    }
    auto key = auth_cache_key(*key_login, password, svc);
    auto now = clock::now();
    auto hit = auth_cache_.get(key);
    if (hit && hit->fresh(now)) {
      ++auth_hits_;
      return auth_success(*hit->value);
    }
    auto rec = find_record(*key_login);
    if (!rec) {
      if (rec.error() == error::unavailable && hit && now < hit->expires + max_stale) {
        ++stale_;
        return auth_success(*hit->value);
      }
      if (rec.error() == error::not_found) {
        return make_error_code(error::invalid_credentials);
      }
      return rec.error();
    }
    const auto& r = **rec;
    // Logins are the primary address or the uid; an alias only receives mail.
    if (key_login->rfind("a:", 0) == 0 && key_login->substr(2) != r.acct.address) {
      return make_error_code(error::invalid_credentials);
    }
    auth_entry ok;
    ok.account_id = r.acct.id;
    ok.rec = *rec;
    bool verified = false;
    if (looks_like_app_password(password)) {
      for (const auto& ap : r.app_passwords) {
        if (ap.info.smtp_only && svc != service::smtp) {
          continue;
        }
        if (verify_password(ap.hash, password)) {
          verified = true;
          ok.app_password = true;
          ok.label = ap.info.label;
          break;
        }
      }
    }
    if (!verified) {
      auto rc = pool_->check_bind(r.acct.dn, password);
      if (!rc) {
        if (hit && now < hit->expires + max_stale) {
          ++stale_;
          return auth_success(*hit->value);
        }
        return rc.error();
      }
      if (*rc != LDAP_SUCCESS) {
        return make_error_code(error::invalid_credentials);
      }
    }
    if (!r.acct.enabled) {
      return make_error_code(error::disabled);
    }
    auto stored = std::make_shared<const auth_entry>(ok);
    auth_cache_.put(key, stored, cfg_.ldap.cache_ttl);
    return auth_success(*stored);
  }

  result<recipient> resolve(std::string_view address) override {
    auto canon = common::canonical_address(address);
    if (!canon) {
      return make_error_code(error::not_found);
    }
    auto at = canon->rfind('@');
    if (!cfg_.is_local_domain(std::string_view(*canon).substr(at + 1))) {
      return make_error_code(error::not_found);
    }
    auto r = cached<recipient>(resolve_cache_, *canon, [&] { return fetch_recipient(*canon); });
    if (!r) {
      return r.error();
    }
    return **r;
  }

  result<account> find_account(std::string_view address_or_id) override {
    auto key = login_key(address_or_id);
    if (!key) {
      return make_error_code(error::not_found);
    }
    auto r = find_record(*key);
    if (!r) {
      return r.error();
    }
    return (*r)->acct;
  }

  bool is_local_domain(std::string_view domain) const override { return cfg_.is_local_domain(domain); }

  // ---- ldap_directory --------------------------------------------------

  stats statistics() const override {
    stats s;
    s.cache_hits = hits_.load();
    s.cache_misses = misses_.load();
    s.stale_served = stale_.load();
    s.auth_cache_hits = auth_hits_.load();
    s.ldap_errors = pool_->errors();
    s.reconnects = pool_->reconnects();
    return s;
  }
  bool connected() const override { return pool_->connected(); }
  void clear_caches() override {
    invalidate_lookups();
    unit_cache_.clear();
    auth_cache_.clear();
  }

  // ---- directory_admin -------------------------------------------------

  result<actor_info> whoami(const actor& who) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    return info_of(*ctx);
  }

  result<account> create_account(const actor& who, const new_account& a) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto canon = local_address(a.address);
    if (!canon) {
      return canon.error();
    }
    auto id = canon->substr(0, canon->rfind('@'));
    if (!is_valid_id(id)) {
      return fail(error::invalid_argument,
                  "address: the local part must be 1-64 of a-z 0-9 . _ - starting with a letter or digit");
    }
    if (!valid_text(a.display_name, 256)) {
      return fail(error::invalid_argument, "name: must be 1-256 bytes of UTF-8 without control characters");
    }
    auto unit = unit_by_id(a.unit);
    if (!unit) {
      return unit.error();
    }
    if (auto d = require_write(*ctx, unit->dn); !d) {
      return d.error();
    }
    std::string hash = a.password_hash;
    if (!a.password.empty()) {
      if (auto why = password_problem(a.password); !why.empty()) {
        return fail(error::invalid_argument, "password: " + why);
      }
      auto h = hash_password(a.password, cfg_.argon2);
      if (!h) {
        return h.error();
      }
      hash = *h;
    }
    if (!hash.empty() && hash.rfind("$argon2id$", 0) != 0) {
      return fail(error::invalid_argument, "password hash: must be an Argon2id string");
    }
    if (auto used = address_in_use(*canon, id); !used) {
      return used.error();
    } else if (*used) {
      return fail(error::exists, "address: " + *canon + " is already in use");
    }
    std::string dn = "uid=" + id + "," + unit->dn;
    std::string family = a.display_name.substr(0, a.display_name.find(' '));
    std::vector<ldap::mod> attrs = {
        {LDAP_MOD_ADD, "objectClass", {"inetOrgPerson", "homthuMailAccount"}},
        {LDAP_MOD_ADD, "uid", {id}},
        {LDAP_MOD_ADD, "cn", {a.display_name}},
        {LDAP_MOD_ADD, "sn", {family}},
        {LDAP_MOD_ADD, "displayName", {a.display_name}},
        {LDAP_MOD_ADD, "mail", {*canon}},
        {LDAP_MOD_ADD, "homthuMailEnabled", {"TRUE"}},
    };
    if (a.quota_bytes > 0) {
      attrs.push_back({LDAP_MOD_ADD, "homthuQuotaBytes", {std::to_string(a.quota_bytes)}});
    }
    if (a.quota_messages > 0) {
      attrs.push_back({LDAP_MOD_ADD, "homthuQuotaMessages", {std::to_string(a.quota_messages)}});
    }
    if (!hash.empty()) {
      attrs.push_back({LDAP_MOD_ADD, "userPassword", {"{ARGON2}" + hash}});
    }
    auto rc = pool_->add(dn, attrs);
    if (auto w = write_result(rc, "create " + dn); !w) {
      return w.error();
    }
    invalidate_lookups();
    audit(who, "account.create", *canon);
    auto r = fetch_record_by("uid", id);
    if (!r) {
      return r.error();
    }
    return r->acct;
  }

  result<account> modify_account(const actor& who, std::string_view target,
                                 const account_changes& c) override {
    auto t = writable_target(who, target);
    if (!t) {
      return t.error();
    }
    std::vector<ldap::mod> mods;
    if (c.display_name) {
      if (!valid_text(*c.display_name, 256)) {
        return fail(error::invalid_argument, "name: must be 1-256 bytes of UTF-8 without control characters");
      }
      mods.push_back({LDAP_MOD_REPLACE, "displayName", {*c.display_name}});
      mods.push_back({LDAP_MOD_REPLACE, "cn", {*c.display_name}});
    }
    auto quota = [&](const char* attr, const std::optional<std::uint64_t>& v) {
      if (v) {
        mods.push_back({LDAP_MOD_REPLACE, attr,
                        *v == 0 ? std::vector<std::string>{} : std::vector<std::string>{std::to_string(*v)}});
      }
    };
    quota("homthuQuotaBytes", c.quota_bytes);
    quota("homthuQuotaMessages", c.quota_messages);
    for (auto [attr, list] : {std::pair{"homthuForwardTo", &c.forward_to}, std::pair{"homthuSendAs", &c.send_as}}) {
      if (*list) {
        std::vector<std::string> vals;
        for (const auto& a : **list) {
          auto canon = common::canonical_address(a);
          if (!canon) {
            return fail(error::invalid_argument, std::string(attr) + ": not an address: " + a);
          }
          vals.push_back(*canon);
        }
        mods.push_back({LDAP_MOD_REPLACE, attr, vals});
      }
    }
    if (mods.empty()) {
      return t->acct;
    }
    add_aux_if_missing(*t, mods);
    if (auto w = write_result(pool_->modify(t->acct.dn, mods), "modify " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "account.modify", t->acct.address);
    auto r = fetch_record_by("uid", t->acct.id);
    if (!r) {
      return r.error();
    }
    return r->acct;
  }

  result<account> move_account(const actor& who, std::string_view target, std::string_view unit_id) override {
    auto t = writable_target(who, target);
    if (!t) {
      return t.error();
    }
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto unit = unit_by_id(unit_id);
    if (!unit) {
      return unit.error();
    }
    if (auto d = require_write(*ctx, unit->dn); !d) {
      return d.error();
    }
    if (lower(parent_dn(t->acct.dn)) == lower(unit->dn)) {
      return t->acct;
    }
    auto rdn = t->acct.dn.substr(0, t->acct.dn.size() - parent_dn(t->acct.dn).size() - 1);
    if (auto w = write_result(pool_->rename(t->acct.dn, rdn, unit->dn), "move " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "account.move", t->acct.address + " " + std::string(unit_id));
    auto r = fetch_record_by("uid", t->acct.id);
    if (!r) {
      return r.error();
    }
    return r->acct;
  }

  result<void> set_enabled(const actor& who, std::string_view target, bool enabled) override {
    auto t = writable_target(who, target);
    if (!t) {
      return t.error();
    }
    std::vector<ldap::mod> mods = {{LDAP_MOD_REPLACE, "homthuMailEnabled", {enabled ? "TRUE" : "FALSE"}}};
    add_aux_if_missing(*t, mods);
    if (auto w = write_result(pool_->modify(t->acct.dn, mods), "enable " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, enabled ? "account.enable" : "account.disable", t->acct.address);
    return {};
  }

  result<void> delete_account(const actor& who, std::string_view target) override {
    auto t = writable_target(who, target);
    if (!t) {
      return t.error();
    }
    if (auto w = write_result(pool_->remove(t->acct.dn), "delete " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "account.delete", t->acct.address);
    return {};
  }

  result<void> set_password(const actor& who, std::string_view target, std::string_view password) override {
    if (auto why = password_problem(password); !why.empty()) {
      return fail(error::invalid_argument, "password: " + why);
    }
    auto t = writable_target(who, target, /*self_allowed=*/true);
    if (!t) {
      return t.error();
    }
    auto h = hash_password(password, cfg_.argon2);
    if (!h) {
      return h.error();
    }
    return store_password(who, *t, *h);
  }

  result<void> set_password_hash(const actor& who, std::string_view target, std::string_view hash) override {
    if (hash.rfind("$argon2id$", 0) != 0 || hash.size() > 512) {
      return fail(error::invalid_argument, "password hash: must be an Argon2id string");
    }
    auto t = writable_target(who, target, true);
    if (!t) {
      return t.error();
    }
    return store_password(who, *t, std::string(hash));
  }

  result<void> set_roles(const actor& who, std::string_view target, const std::vector<role>& roles,
                         const std::vector<std::string>& units) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    if (ctx->r != role::province_admin) {
      return fail(error::denied, "only a province administrator grants roles");
    }
    auto t = fetch_record(target);
    if (!t) {
      return t.error();
    }
    std::vector<std::string> role_vals, unit_dns;
    for (auto r : roles) {
      if (r != role::none) {
        role_vals.emplace_back(to_string(r));
      }
    }
    for (const auto& u : units) {
      auto unit = unit_by_id(u);
      if (!unit) {
        return unit.error();
      }
      unit_dns.push_back(unit->dn);
    }
    std::vector<ldap::mod> mods = {{LDAP_MOD_REPLACE, "homthuRole", role_vals},
                                   {LDAP_MOD_REPLACE, "homthuAdminUnit", unit_dns}};
    add_aux_if_missing(*t, mods);
    if (auto w = write_result(pool_->modify(t->acct.dn, mods), "roles " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "account.roles", t->acct.address);
    return {};
  }

  result<void> add_alias(const actor& who, std::string_view target, std::string_view alias) override {
    auto canon = local_address(alias);
    if (!canon) {
      return canon.error();
    }
    auto t = writable_target(who, target);
    if (!t) {
      return t.error();
    }
    if (auto used = address_in_use(*canon, {}); !used) {
      return used.error();
    } else if (*used) {
      return fail(error::exists, "alias: " + *canon + " is already in use");
    }
    std::vector<ldap::mod> mods = {{LDAP_MOD_ADD, "homthuMailAlias", {*canon}}};
    add_aux_if_missing(*t, mods);
    if (auto w = write_result(pool_->modify(t->acct.dn, mods), "alias " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "alias.add", t->acct.address + " " + *canon);
    return {};
  }

  result<void> remove_alias(const actor& who, std::string_view target, std::string_view alias) override {
    auto canon = common::canonical_address(alias);
    if (!canon) {
      return fail(error::invalid_argument, "alias: not an address");
    }
    auto t = writable_target(who, target);
    if (!t) {
      return t.error();
    }
    if (std::find(t->acct.aliases.begin(), t->acct.aliases.end(), *canon) == t->acct.aliases.end()) {
      return fail(error::not_found, "alias: " + *canon + " is not an alias of " + t->acct.address);
    }
    std::vector<ldap::mod> mods = {{LDAP_MOD_DELETE, "homthuMailAlias", {*canon}}};
    if (auto w = write_result(pool_->modify(t->acct.dn, mods), "unalias " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "alias.remove", t->acct.address + " " + *canon);
    return {};
  }

  result<list_info> create_list(const actor& who, std::string_view address, std::string_view display_name,
                                std::string_view unit_id, post_policy policy) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto canon = local_address(address);
    if (!canon) {
      return canon.error();
    }
    auto cn = canon->substr(0, canon->rfind('@'));
    if (!is_valid_id(cn)) {
      return fail(error::invalid_argument, "address: the local part must be of a-z 0-9 . _ -");
    }
    std::string name(display_name.empty() ? std::string_view(cn) : display_name);
    if (!valid_text(name, 256)) {
      return fail(error::invalid_argument, "name: must be 1-256 bytes of UTF-8 without control characters");
    }
    std::string parent = lists_base_;
    if (!unit_id.empty()) {
      auto unit = unit_by_id(unit_id);
      if (!unit) {
        return unit.error();
      }
      parent = unit->dn;
    }
    if (auto d = require_write(*ctx, parent); !d) {
      return d.error();
    }
    if (auto used = address_in_use(*canon, {}); !used) {
      return used.error();
    } else if (*used) {
      return fail(error::exists, "address: " + *canon + " is already in use");
    }
    std::string dn = "cn=" + cn + "," + parent;
    std::vector<ldap::mod> attrs = {
        {LDAP_MOD_ADD, "objectClass", {"groupOfNames", "homthuMailList"}},
        {LDAP_MOD_ADD, "cn", {cn}},
        {LDAP_MOD_ADD, "mail", {*canon}},
        {LDAP_MOD_ADD, "displayName", {name}},
        {LDAP_MOD_ADD, "homthuMailEnabled", {"TRUE"}},
        {LDAP_MOD_ADD, "homthuListPostPolicy", {std::string(policy_name(policy))}},
        // groupOfNames must have a member: the base DN stands for "nobody".
        {LDAP_MOD_ADD, "member", {base_}},
    };
    if (auto w = write_result(pool_->add(dn, attrs), "create " + dn); !w) {
      return w.error();
    }
    invalidate_lookups();
    audit(who, "list.create", *canon);
    return show_list(who, *canon);
  }

  result<list_info> show_list(const actor& who, std::string_view address) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto l = fetch_list(address);
    if (!l) {
      return l.error();
    }
    if (auto d = require_read(*ctx, l->dn); !d) {
      return d.error();
    }
    auto members = member_addresses(l->member_dns, /*enabled_only=*/false);
    if (!members) {
      return members.error();
    }
    auto info = list_summary(*l);
    info.members = std::move(*members);
    info.member_count = info.members.size();
    return info;
  }

  result<void> add_list_member(const actor& who, std::string_view list, std::string_view member) override {
    actor_ctx ctx;
    auto l = writable_list(who, list, &ctx);
    if (!l) {
      return l.error();
    }
    auto m = member_dn(member);
    if (!m) {
      return m.error();
    }
    // A unit administrator's lists take their own units' people only.
    if (auto d = require_read(ctx, *m); !d) {
      return fail(error::denied, "member: " + std::string(member) + " is outside the units this account administers");
    }
    for (const auto& d : l->member_dns) {
      if (lower(d) == lower(*m)) {
        return fail(error::exists, "member: already on the list");
      }
    }
    std::vector<ldap::mod> mods = {{LDAP_MOD_ADD, "member", {*m}}};
    for (const auto& d : l->member_dns) {
      if (lower(d) == lower(base_)) {
        mods.push_back({LDAP_MOD_DELETE, "member", {d}});
      }
    }
    if (auto w = write_result(pool_->modify(l->dn, mods), "member-add " + l->dn); !w) {
      return w.error();
    }
    invalidate_lookups();
    audit(who, "list.member_add", l->address + " " + std::string(member));
    return {};
  }

  result<void> remove_list_member(const actor& who, std::string_view list, std::string_view member) override {
    auto l = writable_list(who, list);
    if (!l) {
      return l.error();
    }
    auto m = member_dn(member);
    if (!m) {
      return m.error();
    }
    std::string found;
    std::size_t real = 0;
    for (const auto& d : l->member_dns) {
      if (lower(d) == lower(*m)) {
        found = d;
      }
      if (lower(d) != lower(base_)) {
        ++real;
      }
    }
    if (found.empty()) {
      return fail(error::not_found, "member: not on the list");
    }
    std::vector<ldap::mod> mods;
    if (real == 1) {
      mods.push_back({LDAP_MOD_REPLACE, "member", {base_}});
    } else {
      mods.push_back({LDAP_MOD_DELETE, "member", {found}});
    }
    if (auto w = write_result(pool_->modify(l->dn, mods), "member-remove " + l->dn); !w) {
      return w.error();
    }
    invalidate_lookups();
    audit(who, "list.member_remove", l->address + " " + std::string(member));
    return {};
  }

  result<void> delete_list(const actor& who, std::string_view list) override {
    auto l = writable_list(who, list);
    if (!l) {
      return l.error();
    }
    if (auto w = write_result(pool_->remove(l->dn), "delete " + l->dn); !w) {
      return w.error();
    }
    invalidate_lookups();
    audit(who, "list.delete", l->address);
    return {};
  }

  result<list_info> modify_list(const actor& who, std::string_view list, const list_changes& c) override {
    actor_ctx ctx;
    auto l = writable_list(who, list, &ctx);
    if (!l) {
      return l.error();
    }
    std::vector<ldap::mod> mods;
    if (c.display_name) {
      if (!valid_text(*c.display_name, 256)) {
        return fail(error::invalid_argument, "name: must be 1-256 bytes of UTF-8 without control characters");
      }
      mods.push_back({LDAP_MOD_REPLACE, "displayName", {*c.display_name}});
    }
    if (c.policy) {
      mods.push_back({LDAP_MOD_REPLACE, "homthuListPostPolicy", {std::string(policy_name(*c.policy))}});
    }
    if (c.posters) {
      // Posters are matched against the authenticated sender's primary
      // address (smtp rcpt), so each must be an account, stored by that
      // address whatever alias was given.
      std::vector<std::string> addrs;
      for (const auto& p : *c.posters) {
        auto t = fetch_record(p);
        if (!t) {
          if (t.error() == error::not_found) {
            return fail(error::invalid_argument, "posters: no such account: " + p);
          }
          return t.error();
        }
        if (auto d = require_read(ctx, t->acct.dn); !d) {
          return fail(error::denied, "posters: " + p + " is outside the units this account administers");
        }
        if (std::find(addrs.begin(), addrs.end(), t->acct.address) == addrs.end()) {
          addrs.push_back(t->acct.address);
        }
      }
      mods.push_back({LDAP_MOD_REPLACE, "homthuListPoster", addrs});
    }
    if (!mods.empty()) {
      if (auto w = write_result(pool_->modify(l->dn, mods), "list-modify " + l->dn); !w) {
        return w.error();
      }
      invalidate_lookups();
      audit(who, "list.modify", l->address);
    }
    return show_list(who, l->address);
  }

  result<std::vector<list_info>> list_lists(const actor& who) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    if (ctx->r == role::none) {
      return fail(error::denied, "listing lists needs an administrator or auditor role");
    }
    std::vector<std::string> bases = ctx->scope;
    if (bases.empty()) {
      bases.push_back(base_);
    }
    std::vector<list_info> out;
    for (const auto& b : bases) {
      auto r = pool_->search(b, LDAP_SCOPE_SUBTREE, "(&(objectClass=groupOfNames)(objectClass=homthuMailList))",
                             entry_attrs, 500);
      if (!r) {
        return r.error();
      }
      for (const auto& e : *r) {
        out.push_back(list_summary(to_list(e)));
      }
    }
    std::sort(out.begin(), out.end(), [](const list_info& a, const list_info& b) { return a.address < b.address; });
    return out;
  }

  result<new_app_password> add_app_password(const actor& who, std::string_view target, std::string_view label,
                                            bool smtp_only) override {
    if (!valid_text(label, 64)) {
      return fail(error::invalid_argument, "label: must be 1-64 bytes of UTF-8 without control characters");
    }
    auto t = writable_target(who, target, true);
    if (!t) {
      return t.error();
    }
    if (t->app_passwords.size() >= 50) {
      return fail(error::invalid_argument, "app passwords: at most 50 per account");
    }
    new_app_password out;
    unsigned char raw_id[8];
    randombytes_buf(raw_id, sizeof raw_id);
    char hex[17];
    sodium_bin2hex(hex, sizeof hex, raw_id, sizeof raw_id);
    out.info.id = hex;
    out.info.label = std::string(label);
    out.info.smtp_only = smtp_only;
    out.info.created = static_cast<std::int64_t>(std::time(nullptr));
    out.password = random_password(4);
    auto h = hash_password(out.password, cfg_.argon2);
    if (!h) {
      return h.error();
    }
    std::string value = out.info.id + " " + (smtp_only ? "smtp" : "-") + " " +
                        std::to_string(out.info.created) + " " + percent_encode(label) + " " + *h;
    std::vector<ldap::mod> mods = {{LDAP_MOD_ADD, "homthuAppPassword", {value}}};
    add_aux_if_missing(*t, mods);
    if (auto w = write_result(pool_->modify(t->acct.dn, mods), "apppass " + t->acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t->acct.id);
    audit(who, "apppass.add", t->acct.address + " " + out.info.id);
    return out;
  }

  result<std::vector<app_password_info>> list_app_passwords(const actor& who, std::string_view target) override {
    auto t = readable_target(who, target, true);
    if (!t) {
      return t.error();
    }
    std::vector<app_password_info> out;
    for (const auto& a : t->app_passwords) {
      out.push_back(a.info);
    }
    return out;
  }

  result<void> revoke_app_password(const actor& who, std::string_view target, std::string_view id) override {
    auto t = writable_target(who, target, true);
    if (!t) {
      return t.error();
    }
    for (const auto& a : t->app_passwords) {
      if (a.info.id == id) {
        std::vector<ldap::mod> mods = {{LDAP_MOD_DELETE, "homthuAppPassword", {a.raw}}};
        if (auto w = write_result(pool_->modify(t->acct.dn, mods), "revoke " + t->acct.dn); !w) {
          return w.error();
        }
        invalidate_account(t->acct.id);
        audit(who, "apppass.revoke", t->acct.address + " " + a.info.id);
        return {};
      }
    }
    return fail(error::not_found, "app password: no such id");
  }

  result<account_page> list_accounts(const actor& who, const account_query& q) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    std::vector<std::string> bases;
    if (!q.unit.empty()) {
      auto unit = unit_by_id(q.unit);
      if (!unit) {
        return unit.error();
      }
      if (auto d = require_read(*ctx, unit->dn); !d) {
        return d.error();
      }
      bases.push_back(unit->dn);
    } else if (ctx->scope.empty()) {
      if (ctx->r == role::none) {
        return fail(error::denied, "listing accounts needs an administrator or auditor role");
      }
      bases.push_back(base_);
    } else {
      bases = ctx->scope;
    }
    std::string filter = "(objectClass=inetOrgPerson)";
    if (!q.text.empty()) {
      if (q.text.size() > 256) {
        return fail(error::invalid_argument, "search: at most 256 bytes");
      }
      auto e = escape_filter_value(q.text);
      filter = "(&(objectClass=inetOrgPerson)(|(mail=*" + e + "*)(uid=*" + e + "*)(displayName=*" + e +
               "*)(cn=*" + e + "*)(homthuMailAlias=*" + e + "*)))";
    }
    account_page page;
    std::vector<account> all;
    for (const auto& b : bases) {
      // RFC 2696: 500 entries a page keeps each response small.
      auto r = pool_->search(b, LDAP_SCOPE_SUBTREE, filter, entry_attrs, 500);
      if (!r) {
        return r.error();
      }
      for (const auto& e : *r) {
        all.push_back(to_record(e).acct);
      }
    }
    std::sort(all.begin(), all.end(), [](const account& a, const account& b) { return a.address < b.address; });
    page.total = all.size();
    std::size_t from = std::min(q.offset, all.size());
    std::size_t to = q.limit == 0 ? all.size() : std::min(all.size(), from + q.limit);
    page.accounts.assign(std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(from)),
                         std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(to)));
    return page;
  }

  result<std::vector<unit_info>> list_units(const actor& who) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto units = load_units();
    if (!units) {
      return units.error();
    }
    auto people = pool_->search(units_base_, LDAP_SCOPE_SUBTREE, "(objectClass=inetOrgPerson)", {"1.1"}, 1000);
    if (!people) {
      return people.error();
    }
    std::map<std::string, std::uint64_t> counts;
    for (const auto& e : *people) {
      ++counts[lower(parent_dn(e.dn))];
    }
    std::vector<unit_info> out;
    for (const auto& u : **units) {
      auto info = u;
      info.accounts = counts[lower(u.dn)];
      out.push_back(std::move(info));
    }
    return out;
  }

  result<actor_info> roles_of(const actor& who, std::string_view target) override {
    auto t = readable_target(who, target, true);
    if (!t) {
      return t.error();
    }
    auto c = context_from_record(*t);
    return info_of(c);
  }

  result<std::vector<role_holder>> list_role_holders(const actor& who, role r) override {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    if (ctx->r == role::none) {
      return fail(error::denied, "listing administrators needs an administrator or auditor role");
    }
    std::string filter = r == role::none
                             ? "(&(objectClass=inetOrgPerson)(homthuRole=*))"
                             : "(&(objectClass=inetOrgPerson)(homthuRole=" + escape_filter_value(to_string(r)) + "))";
    auto found = pool_->search(base_, LDAP_SCOPE_SUBTREE, filter, entry_attrs, 500);
    if (!found) {
      return found.error();
    }
    std::vector<role_holder> out;
    for (const auto& e : *found) {
      auto rec = to_record(e);
      auto held = context_from_record(rec);
      if (held.r == role::none || (r != role::none && held.r != r)) {
        continue;
      }
      // Scoped callers see holders who live in their units or administer
      // some unit in them (a district's clerk administering its communes).
      bool visible = in_scope(*ctx, rec.acct.dn);
      for (std::size_t i = 0; !visible && i < held.scope.size(); ++i) {
        visible = in_scope(*ctx, held.scope[i]);
      }
      if (!visible) {
        continue;
      }
      role_holder h;
      h.r = held.r;
      h.units = info_of(held).units;
      h.acct = std::move(rec.acct);
      out.push_back(std::move(h));
    }
    std::sort(out.begin(), out.end(),
              [](const role_holder& a, const role_holder& b) { return a.acct.address < b.acct.address; });
    return out;
  }

 private:
  struct actor_ctx {
    std::string account_id;
    role r = role::none;
    std::vector<std::string> scope;  // DNs; empty: province-wide
  };

  result<auth_result> auth_success(const auth_entry& e) {
    if (!e.rec->acct.enabled) {
      return make_error_code(error::disabled);
    }
    auth_result out;
    out.acct = e.rec->acct;
    out.app_password = e.app_password;
    out.app_password_label = e.label;
    return out;
  }

  // Canonical lookup key of a login: "a:local@domain" or "u:id".
  std::optional<std::string> login_key(std::string_view login) const {
    if (login.find('@') != std::string_view::npos) {
      auto canon = common::canonical_address(login);
      if (!canon) {
        return std::nullopt;
      }
      return "a:" + *canon;
    }
    auto id = lower(login);
    if (!is_valid_id(id)) {
      return std::nullopt;
    }
    return "u:" + id;
  }

  // BLAKE2b keyed with a per-process random key: the cache never holds a
  // password or anything that could be attacked offline after a core dump
  // without the key (which lives in the same memory, but not on disk).
  std::string auth_cache_key(const std::string& login, std::string_view password, service svc) const {
    crypto_generichash_state st;
    crypto_generichash_init(&st, auth_key_, sizeof auth_key_, 32);
    unsigned char s = static_cast<unsigned char>(svc);
    crypto_generichash_update(&st, &s, 1);
    std::uint64_t n = login.size();
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(&n), sizeof n);
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(login.data()), login.size());
    crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(password.data()), password.size());
    unsigned char out[32];
    crypto_generichash_final(&st, out, sizeof out);
    return std::string(reinterpret_cast<char*>(out), sizeof out);
  }

  // Cache-through lookup: fresh hit, else LDAP; on unavailable an expired
  // entry still answers (outage rule), a missing one gives unavailable.
  template <class T, class F>
  result<std::shared_ptr<const T>> cached(detail::ttl_cache<outcome<T>>& cache, const std::string& key, F fetch) {
    auto now = clock::now();
    auto hit = cache.get(key);
    if (hit && hit->fresh(now)) {
      ++hits_;
      if (!hit->value->ok) {
        return make_error_code(hit->value->err);
      }
      return std::shared_ptr<const T>(hit->value, &hit->value->value);
    }
    ++misses_;
    result<T> r = fetch();
    if (!r) {
      auto e = static_cast<error>(r.error().value());
      if (r.error().category() == category() && (e == error::not_found || e == error::disabled)) {
        auto o = std::make_shared<outcome<T>>();
        o->err = e;
        cache.put(key, o, e == error::not_found ? cfg_.ldap.negative_cache_ttl : cfg_.ldap.cache_ttl);
        return r.error();
      }
      if (hit && now < hit->expires + max_stale) {
        ++stale_;
        if (!hit->value->ok) {
          return make_error_code(hit->value->err);
        }
        return std::shared_ptr<const T>(hit->value, &hit->value->value);
      }
      return r.error();
    }
    auto o = std::make_shared<outcome<T>>();
    o->ok = true;
    o->value = std::move(*r);
    cache.put(key, o, cfg_.ldap.cache_ttl);
    return std::shared_ptr<const T>(o, &o->value);
  }

  result<std::shared_ptr<const record>> find_record(const std::string& key) {
    return cached<record>(record_cache_, key, [&]() -> result<record> {
      if (key.rfind("a:", 0) == 0) {
        return fetch_record_by_address(key.substr(2));
      }
      return fetch_record_by("uid", key.substr(2));
    });
  }

  // Uncached read for writes: decisions use what slapd has now.
  result<record> fetch_record(std::string_view address_or_id) {
    auto key = login_key(address_or_id);
    if (!key) {
      return fail(error::not_found, "no such account: " + std::string(address_or_id));
    }
    if (key->rfind("a:", 0) == 0) {
      return fetch_record_by_address(key->substr(2));
    }
    return fetch_record_by("uid", key->substr(2));
  }

  result<record> fetch_record_by(const std::string& attr, const std::string& value) {
    auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE,
                           "(&(objectClass=inetOrgPerson)(" + attr + "=" + escape_filter_value(value) + "))",
                           entry_attrs);
    if (!r) {
      return r.error();
    }
    if (r->empty()) {
      return fail(error::not_found, "no such account: " + value);
    }
    return to_record(r->front());
  }

  result<record> fetch_record_by_address(const std::string& address) {
    auto e = escape_filter_value(address);
    auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE,
                           "(&(objectClass=inetOrgPerson)(|(mail=" + e + ")(homthuMailAlias=" + e + ")))",
                           entry_attrs);
    if (!r) {
      return r.error();
    }
    if (r->empty()) {
      return fail(error::not_found, "no such account: " + address);
    }
    return to_record(r->front());
  }

  record to_record(const ldap::entry& e) const {
    record r;
    r.acct.dn = e.dn;
    r.acct.id = lower(e.first("uid"));
    r.acct.address = lower(e.first("mail"));
    for (const auto& a : e.all("homthumailalias")) {
      r.acct.aliases.push_back(lower(a));
    }
    r.acct.display_name = e.first("displayname");
    if (r.acct.display_name.empty()) {
      r.acct.display_name = e.first("cn");
    }
    auto parent = parent_dn(e.dn);
    r.acct.unit = first_rdn_value(parent, "ou");
    if (lower(parent) == lower(units_base_) || lower(parent) == lower(base_)) {
      r.acct.unit.clear();
    }
    r.acct.quota_bytes = to_u64(e.first("homthuquotabytes"));
    r.acct.quota_messages = to_u64(e.first("homthuquotamessages"));
    r.acct.enabled = lower(e.first("homthumailenabled")) != "false";
    for (const auto& a : e.all("homthuforwardto")) {
      r.acct.forward_to.push_back(lower(a));
    }
    for (const auto& a : e.all("homthusendas")) {
      r.acct.send_as.push_back(lower(a));
    }
    for (const auto& v : e.all("homthuapppassword")) {
      if (auto p = parse_app_password(v)) {
        r.app_passwords.push_back(std::move(*p));
      }
    }
    for (const auto& v : e.all("homthurole")) {
      if (auto ro = parse_role(lower(v))) {
        r.roles.push_back(*ro);
      }
    }
    r.admin_unit_dns = e.all("homthuadminunit");
    r.has_aux = e.has_value("objectclass", "homthumailaccount");
    return r;
  }

  list_record to_list(const ldap::entry& e) const {
    list_record l;
    l.dn = e.dn;
    l.address = lower(e.first("mail"));
    l.display_name = e.first("displayname");
    if (l.display_name.empty()) {
      l.display_name = e.first("cn");
    }
    auto parent = parent_dn(e.dn);
    if (lower(parent) != lower(lists_base_)) {
      l.unit = first_rdn_value(parent, "ou");
    }
    l.enabled = lower(e.first("homthumailenabled")) != "false";
    l.policy = parse_policy(e.first("homthulistpostpolicy"));
    for (const auto& a : e.all("homthumailalias")) {
      l.aliases.push_back(lower(a));
    }
    l.member_dns = e.all("member");
    for (const auto& a : e.all("homthulistposter")) {
      l.posters.push_back(lower(a));
    }
    return l;
  }

  // A list without its member addresses; members counted by DN.
  list_info list_summary(const list_record& l) const {
    list_info info;
    info.address = l.address;
    info.display_name = l.display_name;
    info.unit = l.unit;
    info.policy = l.policy;
    info.posters = l.posters;
    info.member_count = static_cast<std::size_t>(std::count_if(
        l.member_dns.begin(), l.member_dns.end(), [&](const std::string& d) { return lower(d) != lower(base_); }));
    return info;
  }

  result<list_record> fetch_list(std::string_view address) {
    auto canon = common::canonical_address(address);
    if (!canon) {
      return fail(error::not_found, "no such list");
    }
    auto e = escape_filter_value(*canon);
    auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE,
                           "(&(objectClass=groupOfNames)(|(mail=" + e + ")(homthuMailAlias=" + e + ")))",
                           entry_attrs);
    if (!r) {
      return r.error();
    }
    if (r->empty()) {
      return fail(error::not_found, "no such list: " + *canon);
    }
    return to_list(r->front());
  }

  result<recipient> fetch_recipient(const std::string& canon) {
    auto e = escape_filter_value(canon);
    auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE,
                           "(&(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))(|(mail=" + e +
                               ")(homthuMailAlias=" + e + ")))",
                           entry_attrs);
    if (!r) {
      return r.error();
    }
    if (r->empty()) {
      return make_error_code(error::not_found);
    }
    if (r->size() > 1) {
      common::log::warn("directory.ambiguous_address", {{"address", canon}, {"entries", r->size()}});
    }
    // A primary address wins over an alias held by another entry.
    const ldap::entry* chosen = &r->front();
    for (const auto& x : *r) {
      if (lower(x.first("mail")) == canon) {
        chosen = &x;
        break;
      }
    }
    recipient out;
    if (is_list_entry(*chosen)) {
      auto l = to_list(*chosen);
      if (!l.enabled) {
        return make_error_code(error::disabled);
      }
      auto members = member_addresses(l.member_dns, /*enabled_only=*/true);
      if (!members) {
        return members.error();
      }
      out.type = recipient::kind::list;
      out.list_address = l.address;
      out.members = std::move(*members);
      out.policy = l.policy;
      out.posters = l.posters;
      return out;
    }
    if (!is_person_entry(*chosen)) {
      return make_error_code(error::not_found);
    }
    auto rec = to_record(*chosen);
    if (!rec.acct.enabled) {
      return make_error_code(error::disabled);
    }
    out.type = recipient::kind::account;
    out.acct = std::move(rec.acct);
    return out;
  }

  // Member DNs → addresses. Few members: one read each; many: one paged
  // scan of the tree (cached), cheaper than thousands of reads.
  result<std::vector<std::string>> member_addresses(const std::vector<std::string>& dns, bool enabled_only) {
    std::vector<std::string> out;
    std::vector<std::string> wanted;
    for (const auto& d : dns) {
      if (lower(d) != lower(base_)) {
        wanted.push_back(d);
      }
    }
    if (wanted.size() <= 16) {
      for (const auto& d : wanted) {
        auto r = pool_->search(d, LDAP_SCOPE_BASE, "(objectClass=*)", {"mail", "homthuMailEnabled"});
        if (!r) {
          return r.error();
        }
        if (r->empty() || r->front().first("mail").empty()) {
          continue;  // dangling or address-less member
        }
        if (enabled_only && lower(r->front().first("homthumailenabled")) == "false") {
          continue;
        }
        out.push_back(lower(r->front().first("mail")));
      }
    } else {
      auto idx = cached<member_index>(member_cache_, "all", [&]() -> result<member_index> {
        auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE, "(mail=*)", {"mail", "homthuMailEnabled"}, 1000);
        if (!r) {
          return r.error();
        }
        member_index m;
        for (const auto& e : *r) {
          m.by_dn[lower(e.dn)] = {lower(e.first("mail")), lower(e.first("homthumailenabled")) != "false"};
        }
        return m;
      });
      if (!idx) {
        return idx.error();
      }
      for (const auto& d : wanted) {
        auto it = (*idx)->by_dn.find(lower(d));
        if (it == (*idx)->by_dn.end() || (enabled_only && !it->second.second)) {
          continue;
        }
        out.push_back(it->second.first);
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  result<std::string> member_dn(std::string_view member) {
    auto canon = common::canonical_address(member);
    if (!canon) {
      return fail(error::invalid_argument, "member: not an address: " + std::string(member));
    }
    auto e = escape_filter_value(*canon);
    auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE,
                           "(&(|(objectClass=inetOrgPerson)(objectClass=groupOfNames))(|(mail=" + e +
                               ")(homthuMailAlias=" + e + ")))",
                           {"1.1"});
    if (!r) {
      return r.error();
    }
    if (r->empty()) {
      return fail(error::not_found, "member: no such account or list: " + *canon);
    }
    return r->front().dn;
  }

  result<std::shared_ptr<const std::vector<unit_info>>> load_units() {
    return cached<std::vector<unit_info>>(unit_cache_, "units", [&]() -> result<std::vector<unit_info>> {
      auto r = pool_->search(units_base_, LDAP_SCOPE_SUBTREE, "(objectClass=organizationalUnit)",
                             {"ou", "displayName", "description", "homthuUnitKind"}, 1000);
      if (!r) {
        return r.error();
      }
      std::vector<unit_info> out;
      for (const auto& e : *r) {
        if (lower(e.dn) == lower(units_base_)) {
          continue;
        }
        unit_info u;
        u.dn = e.dn;
        u.id = first_rdn_value(e.dn, "ou");
        u.name = e.first("displayname");
        if (u.name.empty()) {
          u.name = e.first("description");
        }
        if (u.name.empty()) {
          u.name = u.id;
        }
        u.kind = e.first("homthuunitkind");
        auto parent = parent_dn(e.dn);
        if (lower(parent) != lower(units_base_)) {
          u.parent = first_rdn_value(parent, "ou");
        }
        out.push_back(std::move(u));
      }
      return out;
    });
  }

  result<unit_info> unit_by_id(std::string_view id) {
    if (!is_valid_id(id)) {
      return fail(error::invalid_argument, "unit: not a unit id: " + std::string(id));
    }
    auto units = load_units();
    if (!units) {
      return units.error();
    }
    for (const auto& u : **units) {
      if (u.id == id) {
        return u;
      }
    }
    return fail(error::not_found, "unit: no such unit: " + std::string(id));
  }

  result<std::string> local_address(std::string_view address) {
    auto canon = common::canonical_address(address);
    if (!canon) {
      return fail(error::invalid_argument, "address: not a valid address: " + std::string(address));
    }
    if (!cfg_.is_local_domain(std::string_view(*canon).substr(canon->rfind('@') + 1))) {
      return fail(error::invalid_argument, "address: " + *canon + " is not in a local domain");
    }
    return *canon;
  }

  result<bool> address_in_use(const std::string& canon, const std::string& id) {
    auto e = escape_filter_value(canon);
    std::string filter = "(|(mail=" + e + ")(homthuMailAlias=" + e + ")";
    if (!id.empty()) {
      filter += "(uid=" + escape_filter_value(id) + ")";
    }
    filter += ")";
    auto r = pool_->search(base_, LDAP_SCOPE_SUBTREE, filter, {"1.1"});
    if (!r) {
      return result<bool>(boost::system::in_place_error, r.error());
    }
    return !r->empty();
  }

  actor_ctx context_from_record(const record& r) const {
    actor_ctx c;
    c.account_id = r.acct.id;
    for (auto ro : {role::province_admin, role::unit_admin, role::auditor}) {
      if (std::find(r.roles.begin(), r.roles.end(), ro) != r.roles.end()) {
        c.r = ro;
        break;
      }
    }
    if (c.r == role::unit_admin || c.r == role::auditor) {
      c.scope = r.admin_unit_dns;
      if (c.scope.empty() && c.r == role::unit_admin) {
        c.scope.push_back(parent_dn(r.acct.dn));
      }
    }
    return c;
  }

  // Roles are read fresh from slapd on every call: a role revoked through
  // another tool takes effect at once.
  result<actor_ctx> context_of(const actor& who) {
    if (who.system) {
      return actor_ctx{"", role::province_admin, {}};
    }
    auto r = fetch_record(who.account_id);
    if (!r) {
      if (r.error() == error::not_found) {
        return fail(error::denied, "acting account does not exist");
      }
      return r.error();
    }
    if (!r->acct.enabled) {
      return fail(error::denied, "acting account is disabled");
    }
    return context_from_record(*r);
  }

  actor_info info_of(const actor_ctx& c) {
    actor_info i;
    i.account_id = c.account_id;
    i.r = c.r;
    for (const auto& dn : c.scope) {
      i.units.push_back(first_rdn_value(dn, "ou"));
    }
    return i;
  }

  bool in_scope(const actor_ctx& c, const std::string& dn) const {
    if (c.scope.empty()) {
      return true;
    }
    for (const auto& s : c.scope) {
      if (ends_with_dn(dn, s)) {
        return true;
      }
    }
    return false;
  }

  result<void> require_write(const actor_ctx& c, const std::string& dn) {
    if (c.r == role::province_admin) {
      return {};
    }
    if (c.r == role::unit_admin && in_scope(c, dn)) {
      return {};
    }
    if (c.r == role::auditor) {
      return fail(error::denied, "auditors have read-only access");
    }
    return fail(error::denied, "outside the units this account administers");
  }

  result<void> require_read(const actor_ctx& c, const std::string& dn) {
    if (c.r == role::province_admin) {
      return {};
    }
    if ((c.r == role::unit_admin || c.r == role::auditor) && in_scope(c, dn)) {
      return {};
    }
    return fail(error::denied, "outside the units this account may see");
  }

  result<record> writable_target(const actor& who, std::string_view target, bool self_allowed = false) {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto t = fetch_record(target);
    if (!t) {
      if (t.error() == error::not_found && ctx->r == role::none) {
        return fail(error::denied, "not an administrator");
      }
      return t.error();
    }
    if (self_allowed && !who.system && ctx->account_id == t->acct.id) {
      return t;
    }
    if (auto d = require_write(*ctx, t->acct.dn); !d) {
      return d.error();
    }
    return t;
  }

  result<record> readable_target(const actor& who, std::string_view target, bool self_allowed) {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto t = fetch_record(target);
    if (!t) {
      return t.error();
    }
    if (self_allowed && !who.system && ctx->account_id == t->acct.id) {
      return t;
    }
    if (auto d = require_read(*ctx, t->acct.dn); !d) {
      return d.error();
    }
    return t;
  }

  result<list_record> writable_list(const actor& who, std::string_view list, actor_ctx* ctx_out = nullptr) {
    auto ctx = context_of(who);
    if (!ctx) {
      return ctx.error();
    }
    auto l = fetch_list(list);
    if (!l) {
      return l.error();
    }
    if (auto d = require_write(*ctx, l->dn); !d) {
      return d.error();
    }
    if (ctx_out) {
      *ctx_out = *ctx;
    }
    return l;
  }

  void add_aux_if_missing(const record& r, std::vector<ldap::mod>& mods) {
    if (!r.has_aux) {
      mods.insert(mods.begin(), ldap::mod{LDAP_MOD_ADD, "objectClass", {"homthuMailAccount"}});
    }
  }

  result<void> store_password(const actor& who, const record& t, const std::string& hash) {
    std::vector<ldap::mod> mods = {{LDAP_MOD_REPLACE, "userPassword", {"{ARGON2}" + hash}}};
    if (auto w = write_result(pool_->modify(t.acct.dn, mods), "passwd " + t.acct.dn); !w) {
      return w.error();
    }
    invalidate_account(t.acct.id);
    audit(who, "account.password", t.acct.address);
    return {};
  }

  result<void> write_result(const result<int>& rc, const std::string& what) {
    if (!rc) {
      return rc.error();
    }
    switch (*rc) {
      case LDAP_SUCCESS: return {};
      case LDAP_ALREADY_EXISTS: return fail(error::exists, "already exists");
      case LDAP_TYPE_OR_VALUE_EXISTS: return fail(error::exists, "value already present");
      case LDAP_NO_SUCH_OBJECT: return fail(error::not_found, "no such entry");
      case LDAP_NO_SUCH_ATTRIBUTE: return fail(error::not_found, "no such value");
      case LDAP_INSUFFICIENT_ACCESS:
        common::log::error("directory.write_denied", {{"op", what}});
        return fail(error::denied, "slapd refused the service account (check ACLs)");
      default:
        common::log::warn("directory.write_failed", {{"op", what}, {"reason", ldap_err2string(*rc)}});
        return fail(error::invalid_argument, std::string("slapd: ") + ldap_err2string(*rc));
    }
  }

  void invalidate_lookups() {
    resolve_cache_.clear();
    record_cache_.clear();
    member_cache_.clear();
    // Units are not written through homthu; they keep their TTL.
  }

  void invalidate_account(const std::string& id) {
    invalidate_lookups();
    auth_cache_.erase_if([&](const auth_entry& e) { return e.account_id == id; });
  }

  void audit(const actor& who, std::string_view event, const std::string& target) {
    common::log::info("directory.audit", {{"action", event},
                                           {"actor", who.system ? std::string("system") : who.account_id},
                                           {"target", target}});
  }

  common::config cfg_;
  std::unique_ptr<ldap::pool> pool_;
  std::string base_, units_base_, lists_base_;
  unsigned char auth_key_[crypto_generichash_KEYBYTES];
  detail::ttl_cache<outcome<recipient>> resolve_cache_;
  detail::ttl_cache<outcome<record>> record_cache_;
  detail::ttl_cache<outcome<member_index>> member_cache_;
  detail::ttl_cache<outcome<std::vector<unit_info>>> unit_cache_;
  detail::ttl_cache<auth_entry> auth_cache_{100000};
  std::atomic<std::uint64_t> hits_{0}, misses_{0}, stale_{0}, auth_hits_{0};
};

}  // namespace

std::string last_error_detail() { return error_detail; }

std::string_view to_string(role r) {
  switch (r) {
    case role::province_admin: return "province-admin";
    case role::unit_admin: return "unit-admin";
    case role::auditor: return "auditor";
    case role::none: return "none";
  }
  return "none";
}

std::optional<role> parse_role(std::string_view s) {
  if (s == "province-admin") return role::province_admin;
  if (s == "unit-admin") return role::unit_admin;
  if (s == "auditor") return role::auditor;
  if (s == "none") return role::none;
  return std::nullopt;
}

std::unique_ptr<ldap_directory> open_ldap(const common::config& cfg) {
  return std::make_unique<ldap_directory_impl>(cfg);
}

std::unique_ptr<directory> open_ldap_directory(const common::config& cfg) { return open_ldap(cfg); }

}  // namespace homthu::directory
