#pragma once
// Provisioning: the write side of the directory and the reads IT staff need
// (account lists, the unit tree). Every call names the acting account and is
// checked here, so the admin console and homthuctl cannot disagree on who may
// do what:
//   province-admin  everything
//   unit-admin      accounts and lists in the units they manage and below
//                   (homthuAdminUnit; their own unit when none is named)
//   auditor         reads only (within homthuAdminUnit when set)
//   everyone        their own password and app passwords
// A unit administrator adds to lists only members (and posters) that are
// accounts or lists in their own units: a list is theirs, other units'
// people are not theirs to subscribe.
// homthuctl, run with the service credentials, acts as actor::system().
//
// Thread-safe; calls block (LDAP round trips, Argon2id), like directory.

#include "homthu/directory/directory.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::directory {

enum class role { none, province_admin, unit_admin, auditor };
std::string_view to_string(role r);
std::optional<role> parse_role(std::string_view s);

struct actor {
  std::string account_id;  // uid (or address) of the acting account
  bool system = false;     // homthuctl with the service credentials
  static actor system_actor() { return {{}, true}; }
  static actor account(std::string id) { return {std::move(id), false}; }
};

struct actor_info {
  std::string account_id;
  role r = role::none;
  std::vector<std::string> units;  // unit ids in scope (empty for province-wide)
};

struct unit_info {
  std::string id;                  // "xa-tan-cuong"
  std::string name;                // "Xã Tân Cương"
  std::string kind;                // department, district, commune
  std::string parent;              // parent unit id, empty at the top
  std::string dn;
  std::uint64_t accounts = 0;      // accounts directly in this unit
};

struct new_account {
  std::string address;
  std::string display_name;
  std::string unit;                // unit id
  std::uint64_t quota_bytes = 0;
  std::uint64_t quota_messages = 0;
  std::string password;            // plain; hashed here. Or:
  std::string password_hash;       // an Argon2id string made by hash_password
};

struct account_changes {
  std::optional<std::string> display_name;
  std::optional<std::uint64_t> quota_bytes;
  std::optional<std::uint64_t> quota_messages;
  std::optional<std::vector<std::string>> forward_to;
  std::optional<std::vector<std::string>> send_as;
};

struct account_query {
  std::string unit;                // unit id; includes units below. Empty: all in scope
  std::string text;                // substring of address, uid or display name
  std::size_t offset = 0;
  std::size_t limit = 0;           // 0: all
};

struct account_page {
  std::vector<account> accounts;   // sorted by address
  std::size_t total = 0;           // matches before offset/limit
};

struct app_password_info {
  std::string id;
  std::string label;
  bool smtp_only = false;
  std::int64_t created = 0;        // Unix seconds
};

struct new_app_password {
  app_password_info info;
  std::string password;            // shown once, never stored in clear
};

struct list_info {
  std::string address;
  std::string display_name;
  std::string unit;                // empty for province-wide lists (ou=lists)
  post_policy policy = post_policy::authenticated;
  std::vector<std::string> members;  // addresses (empty from list_lists)
  std::vector<std::string> posters;
  std::size_t member_count = 0;      // members, however many are listed above
};

// A change to a list; absent fields stay as they are. `posters` replaces
// the whole set (addresses of accounts, who may post under `moderators`).
struct list_changes {
  std::optional<std::string> display_name;
  std::optional<post_policy> policy;
  std::optional<std::vector<std::string>> posters;
};

// An account holding an administrator or auditor role.
struct role_holder {
  account acct;
  role r = role::none;
  std::vector<std::string> units;  // unit ids in its scope; empty for province-wide
};

// The reason of the last invalid_argument, denied or exists returned on this
// thread ("display name must not be empty"), for messages to the operator.
std::string last_error_detail();

class directory_admin {
 public:
  virtual ~directory_admin() = default;

  // Who the actor is. Errors: not_found (no such account), unavailable.
  virtual result<actor_info> whoami(const actor& who) = 0;

  virtual result<account> create_account(const actor& who, const new_account& a) = 0;
  virtual result<account> modify_account(const actor& who, std::string_view account,
                                         const account_changes& c) = 0;
  virtual result<account> move_account(const actor& who, std::string_view account,
                                       std::string_view unit) = 0;
  virtual result<void> set_enabled(const actor& who, std::string_view account, bool enabled) = 0;
  virtual result<void> delete_account(const actor& who, std::string_view account) = 0;
  virtual result<void> set_password(const actor& who, std::string_view account,
                                    std::string_view password) = 0;
  // For bulk import, where hashing is spread over cores by the caller.
  virtual result<void> set_password_hash(const actor& who, std::string_view account,
                                         std::string_view argon2_hash) = 0;
  virtual result<void> set_roles(const actor& who, std::string_view account,
                                 const std::vector<role>& roles,
                                 const std::vector<std::string>& units) = 0;

  virtual result<void> add_alias(const actor& who, std::string_view account, std::string_view alias) = 0;
  virtual result<void> remove_alias(const actor& who, std::string_view account,
                                    std::string_view alias) = 0;

  // Lists live in a unit (unit id) or, with an empty unit, in ou=lists.
  virtual result<list_info> create_list(const actor& who, std::string_view address,
                                        std::string_view display_name, std::string_view unit,
                                        post_policy policy) = 0;
  virtual result<list_info> show_list(const actor& who, std::string_view address) = 0;
  virtual result<void> add_list_member(const actor& who, std::string_view list,
                                       std::string_view member) = 0;
  virtual result<void> remove_list_member(const actor& who, std::string_view list,
                                          std::string_view member) = 0;
  virtual result<void> delete_list(const actor& who, std::string_view list) = 0;
  // Name, posting policy, posters. Posters, like members added by a unit
  // administrator, must be accounts the actor may read.
  virtual result<list_info> modify_list(const actor& who, std::string_view list, const list_changes& c) = 0;
  // Every list the actor may read, sorted by address; members are counted,
  // not listed (the province-wide list has every account).
  virtual result<std::vector<list_info>> list_lists(const actor& who) = 0;

  virtual result<new_app_password> add_app_password(const actor& who, std::string_view account,
                                                    std::string_view label, bool smtp_only) = 0;
  virtual result<std::vector<app_password_info>> list_app_passwords(const actor& who,
                                                                    std::string_view account) = 0;
  virtual result<void> revoke_app_password(const actor& who, std::string_view account,
                                           std::string_view app_password_id) = 0;

  // RFC 2696 paged search underneath; offset/limit page the sorted result.
  virtual result<account_page> list_accounts(const actor& who, const account_query& q) = 0;
  virtual result<std::vector<unit_info>> list_units(const actor& who) = 0;
  // Roles of an account, for `user show` and the console.
  virtual result<actor_info> roles_of(const actor& who, std::string_view account) = 0;
  // Accounts holding role `r` (every role with role::none) that the actor
  // may see: with a scope of their own, those whose entry or administered
  // units lie in it. Sorted by address. Needs an administrator or auditor.
  virtual result<std::vector<role_holder>> list_role_holders(const actor& who, role r) = 0;
};

}  // namespace homthu::directory
