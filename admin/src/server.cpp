// The admin HTTP(S) server: reads requests with Beast's parser (sans-I/O,
// fed from common::stream), routes them, writes responses with security
// headers. Trusts nothing from the client: header and body sizes are bounded
// (431/413), every read has a deadline, and a parse error ends the
// connection after a 400.
#include "homthu/admin/server.hpp"

#include "homthu/admin/http.hpp"
#include "homthu/common/address.hpp"
#include "homthu/common/log.hpp"
#include "routes.hpp"
#include "state.hpp"

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>

namespace homthu::admin {

namespace http = boost::beast::http;
namespace asio = boost::asio;

namespace {

constexpr std::size_t header_limit = 16 * 1024;
constexpr auto request_timeout = std::chrono::seconds(30);
constexpr auto keepalive_timeout = std::chrono::seconds(60);
constexpr int max_requests_per_connection = 1000;

const char* reason(unsigned status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
  }
  return "Unknown";
}

std::string serialize(const response& r, bool tls, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  auto add = [&](std::string_view k, std::string_view v) {
    out.append(k).append(": ").append(v).append("\r\n");
  };
  add("Content-Type", r.content_type);
  if (r.status != 304) {  // a 304 describes the kept copy; it has no length of its own
    add("Content-Length", std::to_string(r.body.size()));
  }
  add("X-Content-Type-Options", "nosniff");
  add("X-Frame-Options", "DENY");
  add("Referrer-Policy", "no-referrer");
  add("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'");
  if (!r.headers.contains("Cache-Control")) {
    add("Cache-Control", "no-store");  // API answers and pages are never kept
  }
  if (tls) {
    add("Strict-Transport-Security", "max-age=31536000");
  }
  for (const auto& [k, v] : r.headers) {
    add(k, v);
  }
  add("Connection", keep_alive ? "keep-alive" : "close");
  out += "\r\n";
  out += r.body;
  return out;
}

}  // namespace

response json_error(unsigned status, const std::string& message) {
  response r;
  r.status = status;
  std::string body = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') {
      body += '\\';
      body += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      body += hex;
    } else {
      body += c;
    }
  }
  r.body = body + "\"}";
  return r;
}

server::server(services s) : svc_(std::move(s)), state_(std::make_unique<admin_state>(svc_)) {}
server::~server() = default;

void server::stop() { stopping_ = true; }

asio::awaitable<void> server::session(common::stream& s, const common::connection_info& info) {
  co_await serve(s, info, true);
}

asio::awaitable<void> server::redirect_session(common::stream& s, const common::connection_info& info) {
  co_await serve(s, info, false);
}

asio::awaitable<void> server::serve(common::stream& s, const common::connection_info& info, bool tls) {
  auto log = common::log::logger{}.with("session", info.session_id).with("peer", info.peer_ip);
  std::string buf;
  char chunk[8192];
  for (int n_req = 0; n_req < max_requests_per_connection && !stopping_; ++n_req) {
    http::request_parser<http::string_body> p;
    p.header_limit(header_limit);
    p.body_limit(svc_.cfg.admin.max_body);
    p.eager(true);
    common::error_code ec;
    bool need_read = buf.empty();
    bool first = true;
    while (!p.is_done()) {
      if (need_read) {
        s.expires_after(first && n_req > 0 ? keepalive_timeout : request_timeout);
        auto n = co_await s.read_some(asio::buffer(chunk), ec);
        if (ec) {
          co_return;  // closed, reset or timed out
        }
        buf.append(chunk, n);
        first = false;
      }
      auto used = p.put(asio::buffer(buf), ec);
      buf.erase(0, used);
      if (ec == http::error::need_more) {
        ec = {};
        need_read = true;
        continue;
      }
      if (ec) {
        unsigned status = ec == http::error::header_limit ? 431 : ec == http::error::body_limit ? 413 : 400;
        log.info("admin.bad_request", {{"error", ec.message()}, {"status", status}});
        auto out = serialize(json_error(status, ec.message()), tls, false);
        co_await s.write(asio::buffer(out), ec);
        co_return;
      }
      need_read = buf.empty() && !p.is_done();
    }
    auto& m = p.get();
    request req;
    req.method = std::string(m.method_string());
    req.target = std::string(m.target());
    req.peer_ip = info.peer_ip;
    for (const auto& f : m) {
      req.headers[common::to_lower_ascii(f.name_string())] = std::string(f.value());
    }
    req.body = std::move(m.body());
    auto url = boost::urls::parse_origin_form(req.target);
    if (!url) {
      auto out = serialize(json_error(400, "bad request target"), tls, false);
      co_await s.write(asio::buffer(out), ec);
      co_return;
    }
    req.path = url->path();
    for (auto param : url->params()) {
      req.query[std::string(param.key)] = std::string(param.value);
    }

    response r;
    if (!tls && !is_plain_http_route(req.path)) {
      r.status = 308;
      std::string host = req.headers.count("host") ? req.headers["host"] : svc_.cfg.server.hostname;
      r.headers["Location"] = https_location(svc_.cfg, host, req.target);
      r.content_type = "text/plain; charset=utf-8";
      r.body = "Moved to HTTPS\n";
    } else {
      r = co_await handle(req, tls);
    }
    bool keep_alive = m.keep_alive() && !stopping_;
    log.info("admin.request", {{"method", req.method}, {"path", req.path}, {"status", r.status}});
    auto out = serialize(r, tls, keep_alive);
    s.expires_after(request_timeout);
    co_await s.write(asio::buffer(out), ec);
    if (ec || !keep_alive) {
      co_return;
    }
  }
}

asio::awaitable<response> server::handle(const request& req, bool over_tls) {
  co_return co_await route(*state_, req, over_tls);
}

}  // namespace homthu::admin
