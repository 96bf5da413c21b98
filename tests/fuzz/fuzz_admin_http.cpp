// Fuzzes what the admin server does with a request before any service is
// asked: Beast's HTTP/1.1 parser with the server's limits, the origin-form
// target and query (Boost.URL), the redirect Location for plain HTTP, mail
// client autoconfiguration (answered without sign-in), static files, and
// the REST API's pure helpers (route patterns, cookies, JSON bodies, CSV
// import). The router behind sign-in needs the directory and the store and
// is exercised by tests/integration/test_abuse.py instead.
//
// Checks: no response header or Location can carry CR/LF from the request
// (header splitting), and CSV fields written by csv_field read back intact.

#include "fuzz_util.hpp"

#include "api_util.hpp"
#include "homthu/admin/http.hpp"
#include "homthu/common/config.hpp"
#include "routes.hpp"

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/url/parse.hpp>

#include <string>

namespace {

namespace admin = homthu::admin;
namespace http = boost::beast::http;
using homthu::fuzz::check;

const homthu::common::config& fuzz_config() {
  static const auto cfg = homthu::common::parse_config(
      "[server]\nhostname = \"mail.thainguyen.gov.vn\"\ndomains = [\"thainguyen.gov.vn\"]\n"
      "[listen]\nadmin = [\"127.0.0.1:8443\"]\nimaps = [\"127.0.0.1:993\"]\nsubmission = [\"127.0.0.1:587\"]\n"
      "[tls]\ncert = \"/etc/homthu/cert.pem\"\nkey = \"/etc/homthu/key.pem\"\n",
      "fuzz.toml");
  return cfg;
}

void check_headers(const admin::response& r) {
  for (const auto& [k, v] : r.headers) {
    check(k.find_first_of("\r\n") == std::string::npos && v.find_first_of("\r\n") == std::string::npos,
          "CR/LF in a response header");
  }
  check(r.content_type.find_first_of("\r\n") == std::string::npos, "CR/LF in Content-Type");
}

void helpers(const admin::request& req) {
  const auto& cfg = fuzz_config();
  auto host = req.headers.count("host") ? req.headers.at("host") : std::string();
  auto loc = admin::https_location(cfg, host, req.target);
  check(loc.rfind("https://", 0) == 0, "redirect not to https");
  check(loc.find_first_of("\r\n") == std::string::npos, "CR/LF in the redirect Location");
  (void)admin::is_plain_http_route(req.path);
  check_headers(admin::thunderbird_autoconfig(cfg, req));
  check_headers(admin::outlook_autodiscover(cfg, req));
  if (auto s = admin::static_file(cfg, req.path)) {
    check_headers(*s);
  }
  for (const char* p : {"/api/v1/accounts/{id}", "/api/v1/accounts/{id}/aliases/{alias}", "/api/v1/lists/{address}"}) {
    if (auto m = admin::match_route(p, req.path)) {
      for (const auto& [k, v] : *m) {
        check(!v.empty(), "empty route capture");
      }
    }
  }
  if (req.headers.count("cookie")) {
    (void)admin::cookie_value(req.headers.at("cookie"), "__Host-homthu");
  }
  auto obj = admin::parse_object(req.body);
  if (auto* o = std::get_if<boost::json::object>(&obj)) {
    (void)admin::get_string(*o, "name", 256, false);
    (void)admin::get_uint(*o, "quota_bytes");
    (void)admin::get_bool(*o, "enabled");
    (void)admin::get_string_list(*o, "members", 100);
    (void)admin::only_fields(*o, {"name", "quota_bytes", "enabled", "members"});
  }
  (void)admin::parse_csv(req.body, 1000);
  (void)admin::query_number(req.query, "limit", 50, 1, 500);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  // The server's reading loop: Beast with its limits, the input arriving at
  // once and parsed until the parser needs more. (Fed in small pieces, Boost
  // 1.81's chunked-body parser trips a wrong debug assertion, `n >= 5` in
  // parse_chunk_header, fixed upstream in Beast PR #2861; release builds,
  // where the daemon runs, compile it out and return need_more correctly.)
  http::request_parser<http::string_body> p;
  p.header_limit(16 * 1024);
  p.body_limit(1 << 20);
  p.eager(true);
  std::string_view rest = in;
  boost::system::error_code ec;
  while (!rest.empty() && !p.is_done()) {
    auto used = p.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    rest.remove_prefix(used);
    if (ec || used == 0) {
      break;
    }
  }
  if (!ec && p.is_done()) {
    auto& m = p.get();
    admin::request req;
    req.method = std::string(m.method_string());
    req.target = std::string(m.target());
    for (const auto& f : m) {
      std::string name(f.name_string());
      for (auto& c : name) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      }
      req.headers[name] = std::string(f.value());
    }
    req.body = m.body();
    if (auto url = boost::urls::parse_origin_form(req.target)) {
      req.path = url->path();
      for (auto param : url->params()) {
        req.query[std::string(param.key)] = std::string(param.value);
      }
      helpers(req);
    }
  }

  // CSV written by the export reads back as written.
  if (admin::is_clean_text(in) && !in.empty()) {
    auto field = admin::csv_field(in);
    auto t = admin::parse_csv(field + "\r\n", 10);
    if (auto* table = std::get_if<admin::csv_table>(&t)) {
      check(table->records.size() == 1 && table->records[0].size() == 1, "csv_field did not make one field");
      const auto& got = table->records[0][0];
      check(got == in || got == "'" + std::string(in), "csv_field did not read back");
    } else {
      homthu::fuzz::fail("csv_field output refused by parse_csv");
    }
  }
  return 0;
}
