// SPF, DMARC and Authentication-Results for inbound mail. Input: the peer's
// IP (from the socket), HELO and MAIL FROM (validated by proto/), the From:
// domain (parsed by scan_headers) and DNS answers (untrusted). Invariants:
// DNS only through the injected resolver; a resolver failure yields
// temperror, never fail (so it can never cause a rejection); nothing from
// the message or DNS reaches the header field we write unless reduced to
// [A-Za-z0-9.-_@].
#include "checks.hpp"

#include "homthu/common/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
// spf.h has no extern "C" of its own.
extern "C" {
#include <spf2/spf.h>
}

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <random>

namespace homthu::smtp::auth {
namespace {

// libspf2's DNS layer over our resolver (spf_dns.h): answers are built as
// SPF_dns_rr_t records; hook points at the resolver.
struct spf_hook {
  dns_resolver* dns;
  bool temperror = false;   // a query failed: INVALID then means temperror
};

SPF_dns_rr_t* spf_lookup(SPF_dns_server_t* server, const char* domain, ns_type type, int) {
  auto* hook = static_cast<spf_hook*>(server->hook);
  auto* dns = hook->dns;
  dns_type t;
  switch (type) {
    case ns_t_a: t = dns_type::a; break;
    case ns_t_aaaa: t = dns_type::aaaa; break;
    case ns_t_mx: t = dns_type::mx; break;
    case ns_t_txt: t = dns_type::txt; break;
    case ns_t_ptr: t = dns_type::ptr; break;
    default: return SPF_dns_rr_new_init(server, domain, type, 0, NO_DATA);  // type 99 SPF: obsolete
  }
  const auto a = dns->query(domain, t);
  int herrno = TRY_AGAIN;
  switch (a.st) {
    case dns_answer::status::ok: herrno = NETDB_SUCCESS; break;
    case dns_answer::status::nxdomain: herrno = HOST_NOT_FOUND; break;
    case dns_answer::status::nodata: herrno = NO_DATA; break;
    case dns_answer::status::temperror:
      herrno = TRY_AGAIN;
      hook->temperror = true;
      break;
  }
  SPF_dns_rr_t* rr = SPF_dns_rr_new_init(server, domain, type, 0, herrno);
  if (!rr || herrno != NETDB_SUCCESS) {
    return rr;
  }
  int n = 0;
  for (const auto& rec : a.records) {
    if (t == dns_type::a || t == dns_type::aaaa) {
      if (SPF_dns_rr_buf_realloc(rr, n, t == dns_type::a ? sizeof(in_addr) : sizeof(in6_addr)) != SPF_E_SUCCESS) {
        break;
      }
      if (inet_pton(t == dns_type::a ? AF_INET : AF_INET6, rec.c_str(),
                    t == dns_type::a ? static_cast<void*>(&rr->rr[n]->a) : static_cast<void*>(&rr->rr[n]->aaaa)) !=
          1) {
        continue;
      }
    } else {
      if (SPF_dns_rr_buf_realloc(rr, n, rec.size() + 1) != SPF_E_SUCCESS) {
        break;
      }
      std::memcpy(rr->rr[n]->txt, rec.c_str(), rec.size() + 1);
    }
    ++n;
  }
  rr->num_rr = n;
  return rr;
}

std::string safe(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '-' || c == '_' || c == '@';
    out.push_back(ok ? static_cast<char>(c) : '_');
  }
  return out;
}

std::string lower_trim_dot(std::string d) {
  d = common::to_lower_ascii(d);
  while (!d.empty() && d.back() == '.') {
    d.pop_back();
  }
  return d;
}

// RFC 7489 §6.3 tag=value list.
std::vector<std::pair<std::string, std::string>> tags(std::string_view rec) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t pos = 0;
  while (pos <= rec.size()) {
    auto semi = rec.find(';', pos);
    if (semi == std::string_view::npos) {
      semi = rec.size();
    }
    auto item = rec.substr(pos, semi - pos);
    pos = semi + 1;
    const auto eq = item.find('=');
    if (eq == std::string_view::npos) {
      continue;
    }
    auto trim = [](std::string_view v) {
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
      }
      while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
      }
      return std::string(v);
    };
    out.emplace_back(common::to_lower_ascii(trim(item.substr(0, eq))), trim(item.substr(eq + 1)));
  }
  return out;
}

bool aligned(const public_suffixes& psl, const std::string& a, const std::string& b, bool strict) {
  if (a.empty() || b.empty()) {
    return false;
  }
  const auto x = lower_trim_dot(a);
  const auto y = lower_trim_dot(b);
  return strict ? x == y : psl.organizational_domain(x) == psl.organizational_domain(y);
}

}  // namespace

spf_result check_spf(dns_resolver& dns, const std::string& ip, const std::string& helo, const std::string& sender) {
  spf_result out;
  SPF_dns_server_t layer{};
  layer.lookup = spf_lookup;
  layer.name = "homthu";
  spf_hook hook{&dns};
  layer.hook = &hook;
  SPF_server_t* server = SPF_server_new_dns(&layer, 0);
  if (!server) {
    out.result = "temperror";
    return out;
  }
  SPF_request_t* req = SPF_request_new(server);
  const bool v6 = ip.find(':') != std::string::npos;
  if ((v6 ? SPF_request_set_ipv6_str(req, ip.c_str()) : SPF_request_set_ipv4_str(req, ip.c_str())) !=
      SPF_E_SUCCESS) {
    SPF_request_free(req);
    SPF_server_free(server);
    out.result = "permerror";
    return out;
  }
  SPF_request_set_helo_dom(req, helo.c_str());
  if (!sender.empty()) {
    SPF_request_set_env_from(req, sender.c_str());
    const auto parts = common::split_address(sender);
    out.domain = parts ? lower_trim_dot(parts->domain) : std::string{};
  } else {
    // RFC 7208 §2.4: for <> the HELO identity is checked as postmaster@helo.
    SPF_request_set_env_from(req, ("postmaster@" + helo).c_str());
    out.domain = lower_trim_dot(helo);
    out.helo_identity = true;
  }
  SPF_response_t* resp = nullptr;
  SPF_request_query_mailfrom(req, &resp);
  if (resp) {
    switch (SPF_response_result(resp)) {
      case SPF_RESULT_PASS: out.result = "pass"; break;
      case SPF_RESULT_FAIL: out.result = "fail"; break;
      case SPF_RESULT_SOFTFAIL: out.result = "softfail"; break;
      case SPF_RESULT_NEUTRAL: out.result = "neutral"; break;
      case SPF_RESULT_NONE: out.result = "none"; break;
      case SPF_RESULT_TEMPERROR: out.result = "temperror"; break;
      // libspf2 reports a record it cannot compile as INVALID: a permanent
      // error of the domain's record (RFC 7208 §4.6); DNS trouble comes as
      // TEMPERROR.
      case SPF_RESULT_PERMERROR: out.result = "permerror"; break;
      case SPF_RESULT_INVALID: out.result = hook.temperror ? "temperror" : "permerror"; break;
      default: out.result = "temperror"; break;
    }
    SPF_response_free(resp);
  } else {
    out.result = "temperror";
  }
  SPF_request_free(req);
  SPF_server_free(server);
  return out;
}

public_suffixes::public_suffixes(const std::string& path) {
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    const auto end = line.find_first_of(" \t\r");
    line = line.substr(0, end);
    if (line.empty() || line.rfind("//", 0) == 0) {
      continue;
    }
    rules_.push_back(common::to_lower_ascii(line));
  }
  std::sort(rules_.begin(), rules_.end());
}

bool public_suffixes::has(const std::string& r) const { return std::binary_search(rules_.begin(), rules_.end(), r); }

// publicsuffix.org algorithm: the longest matching rule wins, an exception
// rule ("!") beats a wildcard; no rule matching means "*".
std::string public_suffixes::organizational_domain(std::string domain) const {
  domain = lower_trim_dot(domain);
  std::vector<std::size_t> starts{0};
  for (std::size_t i = 0; i < domain.size(); ++i) {
    if (domain[i] == '.') {
      starts.push_back(i + 1);
    }
  }
  std::size_t suffix_start = starts.back();  // default rule: the last label
  for (std::size_t k = 0; k < starts.size(); ++k) {
    const std::string cand = domain.substr(starts[k]);
    if (has("!" + cand)) {
      suffix_start = k + 1 < starts.size() ? starts[k + 1] : starts[k];
      break;
    }
    const auto dot = cand.find('.');
    if (has(cand) || (dot != std::string::npos && has("*." + cand.substr(dot + 1)))) {
      suffix_start = starts[k];
      break;
    }
  }
  // The organizational domain is the public suffix plus one label.
  for (std::size_t k = 0; k < starts.size(); ++k) {
    if (starts[k] == suffix_start) {
      return k == 0 ? domain : domain.substr(starts[k - 1]);
    }
  }
  return domain;
}

dmarc_result check_dmarc(dns_resolver& dns, const public_suffixes& psl, const std::string& from_domain,
                         const spf_result& spf, const dkim_verdict& dkim) {
  dmarc_result out;
  out.from_domain = lower_trim_dot(from_domain);
  if (out.from_domain.empty()) {
    return out;
  }
  const auto org = psl.organizational_domain(out.from_domain);
  // RFC 7489 §6.6.3: the From: domain's record, else the organizational
  // domain's; exactly one record starting "v=DMARC1".
  std::vector<std::pair<std::string, std::string>> policy;
  bool found = false;
  std::vector<std::string> names{out.from_domain};
  if (org != out.from_domain) {
    names.push_back(org);
  }
  for (const auto& name : names) {
    if (found) {
      break;
    }
    const auto a = dns.query("_dmarc." + name, dns_type::txt);
    if (a.st == dns_answer::status::temperror) {
      out.result = "temperror";
      return out;
    }
    std::vector<std::string> recs;
    for (const auto& r : a.records) {
      if (r.rfind("v=DMARC1", 0) == 0) {
        recs.push_back(r);
      }
    }
    if (recs.size() == 1) {
      policy = tags(recs.front());
      found = true;
    }
  }
  if (!found) {
    return out;  // dmarc=none
  }
  std::string p, sp, adkim = "r", aspf = "r";
  int pct = 100;
  for (const auto& [k, v] : policy) {
    const auto lv = common::to_lower_ascii(v);
    if (k == "p") {
      p = lv;
    } else if (k == "sp") {
      sp = lv;
    } else if (k == "adkim") {
      adkim = lv;
    } else if (k == "aspf") {
      aspf = lv;
    } else if (k == "pct") {
      try {
        pct = std::clamp(std::stoi(v), 0, 100);
      } catch (const std::exception&) {
        pct = 100;
      }
    }
  }
  auto valid = [](const std::string& x) { return x == "none" || x == "quarantine" || x == "reject"; };
  if (!valid(p)) {
    out.result = "permerror";  // §6.6.3: no valid p= tag
    return out;
  }
  out.policy = (out.from_domain != org && valid(sp)) ? sp : p;
  bool pass = spf.result == "pass" && aligned(psl, spf.domain, out.from_domain, aspf == "s");
  for (const auto& s : dkim.signatures) {
    if (s.result == "pass" && aligned(psl, s.domain, out.from_domain, adkim == "s")) {
      pass = true;
    }
  }
  if (pass) {
    out.result = "pass";
    return out;
  }
  out.result = "fail";
  if (pct < 100) {
    thread_local std::minstd_rand rng{std::random_device{}()};
    out.sampled = static_cast<int>(rng() % 100) < pct;  // §6.6.4
  }
  return out;
}

std::string reverse_name(const std::string& ip) {
  static const char* hex = "0123456789abcdef";
  unsigned char b[16];
  if (inet_pton(AF_INET, ip.c_str(), b) == 1) {
    return std::to_string(b[3]) + "." + std::to_string(b[2]) + "." + std::to_string(b[1]) + "." +
           std::to_string(b[0]) + ".in-addr.arpa";
  }
  if (inet_pton(AF_INET6, ip.c_str(), b) == 1) {
    std::string n;
    for (int i = 15; i >= 0; --i) {
      n += hex[b[i] & 15];
      n += '.';
      n += hex[b[i] >> 4];
      n += '.';
    }
    return n + "ip6.arpa";
  }
  return {};
}

iprev_result check_iprev(dns_resolver& dns, const std::string& ip) {
  iprev_result r;
  r.ip = ip;
  const auto rname = reverse_name(ip);
  unsigned char want[16];
  const bool v6 = ip.find(':') != std::string::npos;
  const int family = v6 ? AF_INET6 : AF_INET;
  if (rname.empty() || inet_pton(family, ip.c_str(), want) != 1) {
    return r;  // permerror: not an address
  }
  const auto ptr = dns.query(rname, dns_type::ptr);
  if (ptr.st == dns_answer::status::temperror) {
    r.result = "temperror";
    return r;
  }
  if (ptr.st != dns_answer::status::ok || ptr.records.empty()) {
    return r;  // permerror: no PTR data for this address (§2.7.3)
  }
  r.name = lower_trim_dot(ptr.records.front());
  bool temp = false;
  const std::size_t n = std::min<std::size_t>(ptr.records.size(), 10);
  for (std::size_t i = 0; i < n; ++i) {
    const auto name = lower_trim_dot(ptr.records[i]);
    const auto fwd = dns.query(name, v6 ? dns_type::aaaa : dns_type::a);
    if (fwd.st == dns_answer::status::temperror) {
      temp = true;
      continue;
    }
    for (const auto& addr : fwd.records) {
      unsigned char got[16];
      if (inet_pton(family, addr.c_str(), got) == 1 && std::memcmp(got, want, v6 ? 16 : 4) == 0) {
        r.result = "pass";
        r.name = name;
        return r;
      }
    }
  }
  // No name led back: fail, unless a lookup that might have did not answer.
  r.result = temp ? "temperror" : "fail";
  return r;
}

std::string authentication_results(const std::string& authserv_id, const spf_result& spf, const dkim_verdict& dkim,
                                   const dmarc_result& dmarc, const iprev_result* iprev) {
  std::string h = "Authentication-Results: " + authserv_id + ";";
  if (iprev) {
    // The address comes from the socket; ':' stays for IPv6.
    std::string ip = iprev->ip;
    for (auto& c : ip) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.' && c != ':') {
        c = '_';
      }
    }
    h += "\r\n\tiprev=" + iprev->result + " policy.iprev=" + ip;
    if (!iprev->name.empty()) {
      h += " (" + safe(iprev->name) + ")";
    }
    h += ";";
  }
  h += "\r\n\tspf=" + spf.result;
  if (!spf.domain.empty()) {
    h += (spf.helo_identity ? " smtp.helo=" : " smtp.mailfrom=") + safe(spf.domain);
  }
  if (dkim.signatures.empty()) {
    h += ";\r\n\tdkim=none";
  }
  for (const auto& s : dkim.signatures) {
    h += ";\r\n\tdkim=" + s.result;
    if (!s.reason.empty()) {
      h += " (" + safe(s.reason) + ")";
    }
    h += " header.d=" + safe(s.domain) + " header.s=" + safe(s.selector);
  }
  h += ";\r\n\tdmarc=" + dmarc.result;
  if (!dmarc.policy.empty()) {
    h += " (p=" + dmarc.policy + ")";
  }
  if (!dmarc.from_domain.empty()) {
    h += " header.from=" + safe(dmarc.from_domain);
  }
  return h + "\r\n";
}

results_filter::results_filter(std::string authserv_id) : id_(common::to_lower_ascii(authserv_id)) {}

void results_filter::end_field(std::string& out) {
  if (field_.empty()) {
    return;
  }
  static constexpr std::string_view name = "authentication-results:";
  bool drop = false;
  if (field_.size() > name.size() && common::to_lower_ascii(field_.substr(0, name.size())) == name) {
    // authserv-id: the first token of the value (RFC 8601 §2.2), possibly
    // after folding white space and comments are ignored here: a comment
    // before the id is unusual and keeps the field (it is then not ours).
    std::size_t i = name.size();
    while (i < field_.size() && (field_[i] == ' ' || field_[i] == '\t' || field_[i] == '\r' || field_[i] == '\n')) {
      ++i;
    }
    std::size_t j = i;
    while (j < field_.size() && field_[j] != ';' && field_[j] != ' ' && field_[j] != '\t' && field_[j] != '\r') {
      ++j;
    }
    drop = common::to_lower_ascii(field_.substr(i, j - i)) == id_;
  }
  if (drop) {
    ++removed_;
  } else {
    out += field_;
  }
  field_.clear();
}

void results_filter::feed(std::string_view in, std::string& out) {
  if (!in_header_) {
    out.append(in);
    return;
  }
  std::size_t pos = 0;
  while (pos < in.size() && in_header_) {
    const auto lf = in.find('\n', pos);
    if (lf == std::string_view::npos) {
      line_.append(in.substr(pos));
      // A line longer than any header line we keep whole: flush what we
      // hold; the field is then kept (it is too odd to be ours).
      if (line_.size() > (64u << 10)) {
        end_field(out);
        out += line_;
        line_.clear();
        in_header_ = false;
      }
      return;
    }
    line_.append(in.substr(pos, lf + 1 - pos));
    pos = lf + 1;
    const bool continuation = !line_.empty() && (line_.front() == ' ' || line_.front() == '\t');
    if (line_ == "\r\n" || line_ == "\n") {
      end_field(out);
      out += line_;
      in_header_ = false;
    } else if (continuation && !field_.empty()) {
      field_ += line_;
      if (field_.size() > (1u << 20)) {
        end_field(out);
      }
    } else {
      end_field(out);
      field_ = line_;
    }
    line_.clear();
  }
  if (pos < in.size()) {
    out.append(in.substr(pos));
  }
}

void results_filter::finish(std::string& out) {
  end_field(out);
  out += line_;
  line_.clear();
}

}  // namespace homthu::smtp::auth
