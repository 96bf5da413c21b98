// Mail-client autoconfiguration, fed by the configuration only: the public
// host name and the ports of the implicit-TLS listeners (RFC 8314 prefers
// them). Thunderbird: https://wiki.mozilla.org/Thunderbird:Autoconfiguration;
// Outlook: the POX Autodiscover schema (2006a). Client-supplied text is never
// echoed unescaped.
#include "routes.hpp"

#include "homthu/common/address.hpp"
#include "homthu/common/listener.hpp"

namespace homthu::admin {

namespace {

unsigned port_of(const std::vector<std::string>& addrs, unsigned fallback) {
  if (addrs.empty()) {
    return fallback;
  }
  return common::parse_endpoint(addrs.front()).port();
}

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t') {
          out += c;
        }
    }
  }
  return out;
}

// The address in an Autodiscover request body (<EMailAddress>…</EMailAddress>).
std::string autodiscover_address(std::string_view body) {
  auto open = body.find("<EMailAddress>");
  auto close = body.find("</EMailAddress>");
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return {};
  }
  open += 14;
  auto a = common::canonical_address(body.substr(open, close - open));
  return a ? *a : std::string{};
}

}  // namespace

response thunderbird_autoconfig(const common::config& cfg, const request& req) {
  std::string domain = cfg.server.domains.front();
  if (auto it = req.query.find("emailaddress"); it != req.query.end()) {
    if (auto parts = common::split_address(it->second); parts && cfg.is_local_domain(parts->domain)) {
      domain = parts->domain;
    }
  }
  const std::string host = xml_escape(cfg.server.hostname);
  response r;
  r.content_type = "application/xml; charset=utf-8";
  r.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<clientConfig version=\"1.1\">\n"
           "  <emailProvider id=\"" + xml_escape(domain) + "\">\n";
  for (const auto& d : cfg.server.domains) {
    r.body += "    <domain>" + xml_escape(d) + "</domain>\n";
  }
  r.body += "    <displayName>" + xml_escape(domain) + "</displayName>\n"
            "    <displayShortName>" + xml_escape(domain) + "</displayShortName>\n";
  auto server = [&](const char* dir, const char* type, unsigned port, const char* socket) {
    r.body += std::string("    <") + dir + " type=\"" + type + "\">\n"
              "      <hostname>" + host + "</hostname>\n"
              "      <port>" + std::to_string(port) + "</port>\n"
              "      <socketType>" + socket + "</socketType>\n"
              "      <authentication>password-cleartext</authentication>\n"
              "      <username>%EMAILADDRESS%</username>\n"
              "    </" + dir + ">\n";
  };
  if (!cfg.listen.imaps.empty()) {
    server("incomingServer", "imap", port_of(cfg.listen.imaps, 993), "SSL");
  }
  if (!cfg.listen.imap.empty()) {
    server("incomingServer", "imap", port_of(cfg.listen.imap, 143), "STARTTLS");
  }
  if (!cfg.listen.smtps.empty()) {
    server("outgoingServer", "smtp", port_of(cfg.listen.smtps, 465), "SSL");
  }
  if (!cfg.listen.submission.empty()) {
    server("outgoingServer", "smtp", port_of(cfg.listen.submission, 587), "STARTTLS");
  }
  r.body += "  </emailProvider>\n</clientConfig>\n";
  return r;
}

response outlook_autodiscover(const common::config& cfg, const request& req) {
  std::string address = autodiscover_address(req.body);
  const std::string host = xml_escape(cfg.server.hostname);
  response r;
  r.content_type = "application/xml; charset=utf-8";
  r.body = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
           "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
           "  <Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
           "    <Account>\n"
           "      <AccountType>email</AccountType>\n"
           "      <Action>settings</Action>\n";
  auto protocol = [&](const char* type, unsigned port, const char* encryption) {
    r.body += std::string("      <Protocol>\n") +
              "        <Type>" + type + "</Type>\n"
              "        <Server>" + host + "</Server>\n"
              "        <Port>" + std::to_string(port) + "</Port>\n"
              "        <DomainRequired>off</DomainRequired>\n" +
              (address.empty() ? std::string{} : "        <LoginName>" + xml_escape(address) + "</LoginName>\n") +
              "        <SPA>off</SPA>\n"
              "        <Encryption>" + encryption + "</Encryption>\n"
              "        <AuthRequired>on</AuthRequired>\n"
              "      </Protocol>\n";
  };
  if (!cfg.listen.imaps.empty()) {
    protocol("IMAP", port_of(cfg.listen.imaps, 993), "SSL");
  }
  if (!cfg.listen.smtps.empty()) {
    protocol("SMTP", port_of(cfg.listen.smtps, 465), "SSL");
  } else if (!cfg.listen.submission.empty()) {
    protocol("SMTP", port_of(cfg.listen.submission, 587), "TLS");
  }
  r.body += "    </Account>\n  </Response>\n</Autodiscover>\n";
  return r;
}

}  // namespace homthu::admin
