#pragma once
// The route table of the admin server.

#include "homthu/admin/http.hpp"
#include "homthu/admin/server.hpp"

#include <optional>

namespace homthu::admin {

struct admin_state;

boost::asio::awaitable<response> route(admin_state& st, const request& req, bool over_tls);
// Paths answered over plain HTTP too (mail clients fetch autoconfig so).
bool is_plain_http_route(std::string_view path);
// https://host[:admin port]/target for the redirect from plain HTTP.
std::string https_location(const common::config& cfg, std::string_view host_header, std::string_view target);

// autoconfig.cpp
response thunderbird_autoconfig(const common::config& cfg, const request& req);
response outlook_autodiscover(const common::config& cfg, const request& req);
// static.cpp: the console's files, or nullopt when `path` is none of them;
// 304 when `if_none_match` names the embedded file's ETag.
std::optional<response> static_file(const common::config& cfg, std::string_view path,
                                    std::string_view if_none_match = {});
// health.cpp
boost::asio::awaitable<response> healthz(services& svc);

}  // namespace homthu::admin
