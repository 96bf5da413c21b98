// MX lookup. Input: a recipient domain (validated by proto/path) and DNS
// answers (untrusted; parsed by c-ares). Invariants: the call ends within the
// timeout; a null MX (RFC 7505, "." with preference 0) or NXDOMAIN is a
// permanent failure, anything else that fails is temporary; no MX record
// means the domain itself (RFC 5321 §5.1 implicit MX).
#include "mx.hpp"

#include <ares.h>
#include <arpa/nameser.h>
#include <sys/select.h>

#include <algorithm>
#include <chrono>
#include <mutex>

namespace homthu::smtp::client {
namespace {

std::once_flag ares_once;

struct query_state {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<std::pair<int, std::string>> mx;
  bool null_mx = false;
};

void on_mx(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* q = static_cast<query_state*>(arg);
  q->done = true;
  q->status = status;
  if (status != ARES_SUCCESS) {
    return;
  }
  struct ares_mx_reply* head = nullptr;
  const int pr = ares_parse_mx_reply(abuf, alen, &head);
  if (pr != ARES_SUCCESS) {
    q->status = pr;
    return;
  }
  for (auto* r = head; r != nullptr; r = r->next) {
    std::string host = r->host ? r->host : "";
    if (host.empty() || host == ".") {
      q->null_mx = true;
      continue;
    }
    q->mx.emplace_back(r->priority, host);
  }
  ares_free_data(head);
}

}  // namespace

mx_result lookup_mx(const std::string& domain, const std::vector<std::string>& servers, int timeout_ms) {
  std::call_once(ares_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  mx_result out;
  ares_channel ch = nullptr;
  ares_options opts{};
  opts.timeout = std::max(500, timeout_ms / 3);
  opts.tries = 2;
  if (ares_init_options(&ch, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
    out.error = "resolver initialisation failed";
    return out;
  }
  if (!servers.empty()) {
    std::string csv;
    for (const auto& s : servers) {
      if (!csv.empty()) {
        csv += ",";
      }
      csv += s;
    }
    if (ares_set_servers_ports_csv(ch, csv.c_str()) != ARES_SUCCESS) {
      ares_destroy(ch);
      out.error = "bad dns_servers";
      return out;
    }
  }
  query_state q;
  ares_query(ch, domain.c_str(), ns_c_in, ns_t_mx, on_mx, &q);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (!q.done && std::chrono::steady_clock::now() < deadline) {
    fd_set rfds, wfds;
    FD_ZERO(&rfds);
    FD_ZERO(&wfds);
    const int nfds = ares_fds(ch, &rfds, &wfds);
    if (nfds == 0) {
      break;
    }
    timeval tv{0, 100000};
    timeval* tvp = ares_timeout(ch, &tv, &tv);
    select(nfds, &rfds, &wfds, nullptr, tvp);
    ares_process(ch, &rfds, &wfds);
  }
  ares_destroy(ch);  // calls the callback with ARES_EDESTRUCTION if still pending
  if (!q.done || q.status == ARES_EDESTRUCTION || q.status == ARES_ETIMEOUT) {
    out.error = "DNS timeout for " + domain;
    return out;
  }
  if (q.status == ARES_ENOTFOUND) {
    out.st = mx_result::status::no_domain;
    out.error = "domain " + domain + " does not exist";
    return out;
  }
  if (q.status == ARES_ENODATA) {
    out.st = mx_result::status::ok;
    out.hosts.push_back(domain);
    return out;
  }
  if (q.status != ARES_SUCCESS) {
    out.error = std::string("DNS error for ") + domain + ": " + ares_strerror(q.status);
    return out;
  }
  if (q.mx.empty()) {
    if (q.null_mx) {
      out.st = mx_result::status::no_domain;
      out.error = domain + " accepts no mail (null MX, RFC 7505)";
      return out;
    }
    out.st = mx_result::status::ok;
    out.hosts.push_back(domain);
    return out;
  }
  std::stable_sort(q.mx.begin(), q.mx.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  out.st = mx_result::status::ok;
  for (auto& [pref, host] : q.mx) {
    out.hosts.push_back(std::move(host));
  }
  return out;
}

}  // namespace homthu::smtp::client
