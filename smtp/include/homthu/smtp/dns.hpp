#pragma once
// The DNS questions SPF, DKIM and DMARC ask, behind an interface so that
// tests answer them from fixed data and never touch the network. A query
// blocks: callers run it on the worker pool, never on an I/O thread.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace homthu::smtp {

enum class dns_type { a, aaaa, mx, txt, ptr };

struct dns_answer {
  // nxdomain and nodata are answers (RFC 7208 §4.3, RFC 7489 §6.6.3); only
  // temperror means "we could not find out" (timeout, SERVFAIL).
  enum class status { ok, nxdomain, nodata, temperror };
  status st = status::temperror;
  // a/aaaa: textual addresses; mx: exchange names by preference; txt: each
  // record's strings joined (RFC 7208 §3.3); ptr: names.
  std::vector<std::string> records;
};

class dns_resolver {
 public:
  virtual ~dns_resolver() = default;
  virtual dns_answer query(const std::string& name, dns_type type) = 0;
};

// c-ares, synchronous with a deadline. `servers`: "ip" or "ip:port"; empty:
// /etc/resolv.conf.
std::shared_ptr<dns_resolver> make_cares_resolver(std::vector<std::string> servers, int timeout_ms = 5000);

// Keeps answers for `ttl`, at most `max_entries` of them: a busy MX asks
// the same iprev/SPF/DMARC questions about the same clients and senders.
// A temperror (server failure or timeout) is kept for `failure_ttl` (RFC
// 2308 §7.1: at most five minutes), so that while a name server is down
// only the first message per question waits for its timeout.
std::shared_ptr<dns_resolver> make_caching_resolver(std::shared_ptr<dns_resolver> inner,
                                                    std::chrono::seconds ttl = std::chrono::seconds(300),
                                                    std::size_t max_entries = 10000,
                                                    std::chrono::seconds failure_ttl = std::chrono::seconds(30));

}  // namespace homthu::smtp
