#include "routes.hpp"

#include "api.hpp"
#include "homthu/common/listener.hpp"
#include "state.hpp"

#include <chrono>

namespace homthu::admin {

namespace {

bool is_autoconfig(std::string_view path) {
  return path == "/.well-known/autoconfig/mail/config-v1.1.xml" || path == "/mail/config-v1.1.xml";
}

bool is_autodiscover(std::string_view path) {
  return path == "/autodiscover/autodiscover.xml" || path == "/Autodiscover/Autodiscover.xml";
}

}  // namespace

bool is_plain_http_route(std::string_view path) { return is_autoconfig(path); }

std::string https_location(const common::config& cfg, std::string_view host_header, std::string_view target) {
  // Host without its port; never echo anything that could split the header.
  std::string host(host_header.substr(0, host_header.find(':')));
  if (host.empty() || host.find_first_of("\r\n /\\@") != std::string::npos) {
    host = cfg.server.hostname;
  }
  std::string port;
  if (!cfg.listen.admin.empty()) {
    auto p = common::parse_endpoint(cfg.listen.admin.front()).port();
    if (p != 443) {
      port = ":" + std::to_string(p);
    }
  }
  std::string t(target);
  if (t.empty() || t.front() != '/' || t.find_first_of("\r\n") != std::string::npos) {
    t = "/";
  }
  return "https://" + host + port + t;
}

boost::asio::awaitable<response> route(admin_state& st, const request& req, bool over_tls) {
  auto& svc = st.svc;
  if (req.path.rfind("/api/", 0) == 0) {
    if (!over_tls) {
      co_return json_error(403, "use HTTPS");
    }
    auto t0 = std::chrono::steady_clock::now();
    auto r = co_await api_route(st, req);
    if (st.api_latency) {
      st.api_latency->observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    if (st.api_errors && r.status >= 500) {
      st.api_errors->inc();
    }
    co_return r;
  }
  if (req.path == "/healthz") {
    if (req.method != "GET" && req.method != "HEAD") {
      co_return json_error(405, "use GET");
    }
    co_return co_await healthz(svc);
  }
  if (req.path == "/metrics" && svc.metrics) {
    response r;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = svc.metrics->prometheus_text();
    co_return r;
  }
  if (is_autoconfig(req.path)) {
    if (req.method != "GET") {
      co_return json_error(405, "use GET");
    }
    co_return thunderbird_autoconfig(svc.cfg, req);
  }
  if (is_autodiscover(req.path)) {
    if (req.method != "POST" && req.method != "GET") {
      co_return json_error(405, "use POST");
    }
    co_return outlook_autodiscover(svc.cfg, req);
  }
  if (req.method == "GET" || req.method == "HEAD") {
    const auto inm = req.headers.find("if-none-match");
    if (auto f = static_file(svc.cfg, req.path, inm == req.headers.end() ? std::string_view() : inm->second)) {
      co_return *f;
    }
  }
  co_return json_error(404, "no such page");
}

}  // namespace homthu::admin
