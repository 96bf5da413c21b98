// c-ares behind smtp::dns_resolver. Input: names we build from untrusted
// message data (validated as domains by the callers) and DNS answers
// (untrusted, parsed by c-ares). Invariants: a query ends within its
// timeout; a failure to get an answer is temperror, never nxdomain.
#include "homthu/smtp/dns.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/select.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>

namespace homthu::smtp {
namespace {

std::once_flag ares_once;

struct query_state {
  bool done = false;
  int status = ARES_SUCCESS;
  std::vector<unsigned char> answer;
};

void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
  auto* q = static_cast<query_state*>(arg);
  q->done = true;
  q->status = status;
  if (status == ARES_SUCCESS && abuf != nullptr && alen > 0) {
    q->answer.assign(abuf, abuf + alen);
  }
}

class cares_resolver final : public dns_resolver {
 public:
  cares_resolver(std::vector<std::string> servers, int timeout_ms)
      : servers_(std::move(servers)), timeout_ms_(timeout_ms) {}

  dns_answer query(const std::string& name, dns_type type) override {
    std::call_once(ares_once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    dns_answer out;
    ares_channel ch = nullptr;
    ares_options opts{};
    opts.timeout = std::max(500, timeout_ms_ / 3);
    opts.tries = 2;
    if (ares_init_options(&ch, &opts, ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES) != ARES_SUCCESS) {
      return out;
    }
    if (!servers_.empty()) {
      std::string csv;
      for (const auto& s : servers_) {
        csv += (csv.empty() ? "" : ",") + s;
      }
      if (ares_set_servers_ports_csv(ch, csv.c_str()) != ARES_SUCCESS) {
        ares_destroy(ch);
        return out;
      }
    }
    int qtype = ns_t_a;
    switch (type) {
      case dns_type::a: qtype = ns_t_a; break;
      case dns_type::aaaa: qtype = ns_t_aaaa; break;
      case dns_type::mx: qtype = ns_t_mx; break;
      case dns_type::txt: qtype = ns_t_txt; break;
      case dns_type::ptr: qtype = ns_t_ptr; break;
    }
    query_state q;
    ares_query(ch, name.c_str(), ns_c_in, qtype, on_answer, &q);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms_);
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
    ares_destroy(ch);
    if (!q.done) {
      return out;
    }
    if (q.status == ARES_ENOTFOUND) {
      out.st = dns_answer::status::nxdomain;
      return out;
    }
    if (q.status == ARES_ENODATA) {
      out.st = dns_answer::status::nodata;
      return out;
    }
    if (q.status != ARES_SUCCESS) {
      return out;
    }
    if (!parse(type, q.answer, out.records)) {
      return out;
    }
    out.st = out.records.empty() ? dns_answer::status::nodata : dns_answer::status::ok;
    return out;
  }

 private:
  static bool parse(dns_type type, const std::vector<unsigned char>& a, std::vector<std::string>& out) {
    const auto* buf = a.data();
    const int len = static_cast<int>(a.size());
    switch (type) {
      case dns_type::a:
      case dns_type::aaaa: {
        hostent* h = nullptr;
        if (type == dns_type::a) {
          ares_addrttl ttls[64];
          int n = 64;
          if (ares_parse_a_reply(buf, len, &h, ttls, &n) != ARES_SUCCESS) {
            return false;
          }
          for (int i = 0; i < n; ++i) {
            char s[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &ttls[i].ipaddr, s, sizeof s);
            out.emplace_back(s);
          }
        } else {
          ares_addr6ttl ttls[64];
          int n = 64;
          if (ares_parse_aaaa_reply(buf, len, &h, ttls, &n) != ARES_SUCCESS) {
            return false;
          }
          for (int i = 0; i < n; ++i) {
            char s[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, &ttls[i].ip6addr, s, sizeof s);
            out.emplace_back(s);
          }
        }
        if (h) {
          ares_free_hostent(h);
        }
        return true;
      }
      case dns_type::mx: {
        ares_mx_reply* head = nullptr;
        if (ares_parse_mx_reply(buf, len, &head) != ARES_SUCCESS) {
          return false;
        }
        std::vector<std::pair<int, std::string>> mx;
        for (auto* r = head; r; r = r->next) {
          mx.emplace_back(r->priority, r->host ? r->host : "");
        }
        ares_free_data(head);
        std::stable_sort(mx.begin(), mx.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
        for (auto& [p, h] : mx) {
          out.push_back(std::move(h));
        }
        return true;
      }
      case dns_type::txt: {
        ares_txt_ext* head = nullptr;
        if (ares_parse_txt_reply_ext(buf, len, &head) != ARES_SUCCESS) {
          return false;
        }
        for (auto* r = head; r; r = r->next) {
          std::string chunk(reinterpret_cast<const char*>(r->txt), r->length);
          if (r->record_start || out.empty()) {
            out.push_back(std::move(chunk));
          } else {
            out.back() += chunk;  // RFC 7208 §3.3: strings of one record are joined
          }
        }
        ares_free_data(head);
        return true;
      }
      case dns_type::ptr: {
        hostent* h = nullptr;
        if (ares_parse_ptr_reply(buf, len, nullptr, 0, AF_INET, &h) != ARES_SUCCESS) {
          return false;
        }
        if (h->h_name) {
          out.emplace_back(h->h_name);
        }
        for (char** al = h->h_aliases; al && *al; ++al) {
          out.emplace_back(*al);
        }
        ares_free_hostent(h);
        return true;
      }
    }
    return false;
  }

  std::vector<std::string> servers_;
  int timeout_ms_;
};

class caching_resolver final : public dns_resolver {
 public:
  caching_resolver(std::shared_ptr<dns_resolver> inner, std::chrono::seconds ttl, std::size_t max_entries,
                   std::chrono::seconds failure_ttl)
      : inner_(std::move(inner)), ttl_(ttl), failure_ttl_(std::min(failure_ttl, ttl)), max_(max_entries) {}

  dns_answer query(const std::string& name, dns_type type) override {
    const auto now = std::chrono::steady_clock::now();
    auto key = std::make_pair(name, type);
    {
      std::lock_guard lock(mu_);
      auto it = cache_.find(key);
      if (it != cache_.end() && it->second.first > now) {
        return it->second.second;
      }
    }
    auto a = inner_->query(name, type);  // outside the lock: it may take seconds
    const auto keep = a.st == dns_answer::status::temperror ? failure_ttl_ : ttl_;
    if (keep.count() > 0) {
      std::lock_guard lock(mu_);
      if (cache_.size() >= max_) {
        cache_.clear();  // crude but bounded; refilled at the next questions
      }
      cache_[std::move(key)] = {now + keep, a};
    }
    return a;
  }

 private:
  std::shared_ptr<dns_resolver> inner_;
  std::chrono::seconds ttl_;
  std::chrono::seconds failure_ttl_;
  std::size_t max_;
  std::mutex mu_;
  std::map<std::pair<std::string, dns_type>, std::pair<std::chrono::steady_clock::time_point, dns_answer>> cache_;
};

}  // namespace

std::shared_ptr<dns_resolver> make_caching_resolver(std::shared_ptr<dns_resolver> inner, std::chrono::seconds ttl,
                                                    std::size_t max_entries, std::chrono::seconds failure_ttl) {
  return std::make_shared<caching_resolver>(std::move(inner), ttl, max_entries, failure_ttl);
}

std::shared_ptr<dns_resolver> make_cares_resolver(std::vector<std::string> servers, int timeout_ms) {
  return std::make_shared<cares_resolver>(std::move(servers), timeout_ms);
}

}  // namespace homthu::smtp
