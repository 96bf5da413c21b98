#pragma once
// The REST API under /api/v1: the route table, the call context handlers
// receive, and the helpers they share (JSON replies, directory calls on the
// worker pool, error mapping). See admin/openapi.yaml for the contract.

#include "api_util.hpp"
#include "homthu/admin/http.hpp"
#include "homthu/common/address.hpp"
#include "homthu/directory/password.hpp"
#include "state.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

namespace homthu::admin {

// Who is calling: from the session cookie or an API token.
struct principal {
  std::string account_id;
  std::string address;
  std::string display_name;
  std::string role;                // province-admin, unit-admin, auditor, none
  std::vector<std::string> units;
  bool via_token = false;
  std::string token_scope;         // read, write
  std::string token_id;
  std::string session_id;
  std::string csrf;
  bool enrol_only = false;         // see session_data::enrol_only
};

struct call {
  admin_state& st;
  const request& req;
  std::map<std::string, std::string> params;
  principal who;
  directory::actor actor;
  // Filled by handlers for the audit record of a state-changing call.
  std::string audit_target;
  boost::json::object audit_detail;
  // Set by sign-in, whose actor is only known once the password is checked.
  std::string audit_actor;
};

boost::asio::awaitable<response> api_route(admin_state& st, const request& req);

// Replies.
response json_reply(const boost::json::value& v, unsigned status = 200);
response field_reply(const field_error& e, unsigned status = 400);
response dir_error_reply(const boost::system::error_code& ec, const std::string& detail);

// A directory_admin call run on the worker pool, with the thread-local
// error detail captured on the thread that produced it.
template <class T>
struct dir_outcome {
  directory::result<T> r;
  std::string detail;
};

//
// Every lambda handed to the worker pool captures by reference only (the
// awaiting coroutine's frame outlives the work): GCC 12 destroys a
// by-value capture of a temporary closure twice when it is an argument in a
// co_await expression, which corrupts the heap for std::string captures.
template <class F>
auto run_dir(call& c, F f) -> boost::asio::awaitable<dir_outcome<typename std::invoke_result_t<F>::value_type>> {
  using T = typename std::invoke_result_t<F>::value_type;
  co_return co_await c.st.svc.workers.run([&f] {
    auto r = f();
    std::string d = r ? std::string{} : directory::last_error_detail();
    return dir_outcome<T>{std::move(r), std::move(d)};
  });
}

boost::json::object account_json(const directory::account& a);
std::int64_t now_ms();

// Handlers, one file per resource.
using handler = boost::asio::awaitable<response> (*)(call&);
boost::asio::awaitable<response> session_create(call& c);
boost::asio::awaitable<response> session_delete(call& c);
boost::asio::awaitable<response> me(call& c);
boost::asio::awaitable<response> dashboard(call& c);
boost::asio::awaitable<response> accounts_list(call& c);
boost::asio::awaitable<response> account_create(call& c);
boost::asio::awaitable<response> account_get(call& c);
boost::asio::awaitable<response> account_patch(call& c);
boost::asio::awaitable<response> account_delete(call& c);
boost::asio::awaitable<response> account_password(call& c);
boost::asio::awaitable<response> account_enable(call& c);
boost::asio::awaitable<response> account_disable(call& c);
boost::asio::awaitable<response> alias_add(call& c);
boost::asio::awaitable<response> alias_remove(call& c);
boost::asio::awaitable<response> app_passwords_list(call& c);
boost::asio::awaitable<response> app_password_add(call& c);
boost::asio::awaitable<response> app_password_revoke(call& c);
boost::asio::awaitable<response> units_list(call& c);
boost::asio::awaitable<response> list_create(call& c);
boost::asio::awaitable<response> list_get(call& c);
boost::asio::awaitable<response> list_delete(call& c);
boost::asio::awaitable<response> list_member_add(call& c);
boost::asio::awaitable<response> list_member_remove(call& c);
boost::asio::awaitable<response> import_create(call& c);
boost::asio::awaitable<response> import_get(call& c);
boost::asio::awaitable<response> import_confirm(call& c);
boost::asio::awaitable<response> import_result(call& c);
boost::asio::awaitable<response> audit_list(call& c);
boost::asio::awaitable<response> tokens_list(call& c);
boost::asio::awaitable<response> token_create(call& c);
boost::asio::awaitable<response> token_revoke(call& c);
boost::asio::awaitable<response> queue_list(call& c);
boost::asio::awaitable<response> queue_get(call& c);
boost::asio::awaitable<response> delivery_log_search(call& c);
boost::asio::awaitable<response> mail_flow(call& c);
boost::asio::awaitable<response> queue_retry(call& c);
boost::asio::awaitable<response> delivery_failures(call& c);
boost::asio::awaitable<response> lists_list(call& c);
boost::asio::awaitable<response> list_patch(call& c);
boost::asio::awaitable<response> admins_list(call& c);
boost::asio::awaitable<response> unit_admin_grant(call& c);
boost::asio::awaitable<response> unit_admin_revoke(call& c);
boost::asio::awaitable<response> totp_begin(call& c);
boost::asio::awaitable<response> totp_confirm(call& c);
boost::asio::awaitable<response> totp_disable(call& c);
boost::asio::awaitable<response> totp_reset(call& c);
boost::asio::awaitable<response> queue_delete(call& c);

// Second factor (api_totp.cpp). Whether the account has one (nullopt: the
// store cannot answer); at sign-in, after the password: nullopt to go on,
// or the refusal (401 asking for the code, or a wrong or reused code, which
// counts as a failed sign-in); forgetting it when the account is deleted.
boost::asio::awaitable<std::optional<bool>> totp_enabled(admin_state& st, const std::string& account_id);
boost::asio::awaitable<std::optional<response>> check_second_factor(call& c, const std::string& account_id,
                                                                    const std::string& login,
                                                                    const boost::json::object& body);
boost::asio::awaitable<void> forget_second_factor(admin_state& st, const std::string& account_id);

// The accounts visible to the caller (below `unit` when not empty), from
// the cache or the directory. Errors as a reply.
boost::asio::awaitable<std::variant<account_cache::list, response>> visible_accounts(call& c,
                                                                                    const std::string& unit);

}  // namespace homthu::admin
