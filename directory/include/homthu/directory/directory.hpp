#pragma once
// Who exists: the two verbs the protocols need (authenticate, resolve a
// recipient) plus account details. Implementations are thread-safe and may
// block (LDAP round trips, Argon2id): protocol code calls them through
// common::worker_pool::run, never on an I/O thread.
//
// Errors are values. `unavailable` means "the directory cannot answer now"
// (slapd down, timeout) and must become a temporary failure (451 4.4.3,
// NO [UNAVAILABLE]); it is never reported as "unknown user".

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::directory {

enum class error {
  not_found = 1,        // no such address / account
  unavailable,          // directory unreachable or timed out: temporary
  invalid_credentials,  // wrong login or password (no hint which)
  disabled,             // account exists but mail is disabled
  denied,               // caller's role does not allow the operation
  exists,               // create of something already there
  invalid_argument,     // a field failed validation; message says which
};
const boost::system::error_category& category();
inline boost::system::error_code make_error_code(error e) {
  return {static_cast<int>(e), category()};
}

template <class T>
using result = boost::system::result<T>;

struct account {
  std::string id;                     // stable ASCII id (LDAP uid); storage's account key
  std::string dn;
  std::string address;                // primary address, canonical (lowercase)
  std::vector<std::string> aliases;   // other addresses delivered to this account
  std::string display_name;           // UTF-8, with diacritics
  std::string unit;                   // unit id, e.g. "so-noi-vu" or "xa-tan-cuong"
  std::uint64_t quota_bytes = 0;      // 0: unlimited
  std::uint64_t quota_messages = 0;   // 0: unlimited
  bool enabled = true;
  std::vector<std::string> forward_to;  // external copies
  std::vector<std::string> send_as;     // extra addresses allowed in MAIL FROM / From:
};

enum class service { smtp, imap, admin };

struct auth_result {
  account acct;
  bool app_password = false;          // authenticated with an app password
  std::string app_password_label;
};

// Who may post to a distribution list.
enum class post_policy {
  anyone,                             // including the outside world
  authenticated,                      // any authenticated local sender
  members,                            // authenticated members of the list
  moderators,                         // only the addresses in `posters`
};

struct recipient {
  enum class kind { account, list, forward };
  kind type = kind::account;
  account acct;                       // kind::account (also when reached via an alias)
  std::string list_address;           // kind::list
  std::vector<std::string> members;   // kind::list: member addresses, canonical
  post_policy policy = post_policy::anyone;
  std::vector<std::string> posters;   // kind::list with policy moderators
  std::vector<std::string> forward_to;  // kind::forward
};

class directory {
 public:
  virtual ~directory() = default;

  // `login` is an address (or uid). For service::smtp an app password marked
  // smtp-only is accepted; for imap/admin it is not. Errors:
  // invalid_credentials, disabled, unavailable.
  virtual result<auth_result> authenticate(std::string_view login, std::string_view password,
                                           service svc) = 0;
  // Errors: not_found (a definite "no such address"), disabled (the account
  // or list exists with mail disabled: reject like unknown, 550), unavailable.
  virtual result<recipient> resolve(std::string_view address) = 0;
  // By address, alias or id. Errors: not_found, unavailable.
  virtual result<account> find_account(std::string_view address_or_id) = 0;
  virtual bool is_local_domain(std::string_view domain) const = 0;
};

}  // namespace homthu::directory

template <>
struct boost::system::is_error_code_enum<homthu::directory::error> : std::true_type {};
