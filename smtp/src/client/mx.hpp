#pragma once
// MX lookup through c-ares (RFC 5321 §5.1). Blocking: run it on the worker
// pool.

#include <string>
#include <vector>

namespace homthu::smtp::client {

struct mx_result {
  enum class status { ok, no_domain, temporary };
  status st = status::temporary;
  std::vector<std::string> hosts;   // by preference; the domain itself when it has no MX
  std::string error;
};

// `servers`: "ip" or "ip:port" entries; empty: /etc/resolv.conf.
mx_result lookup_mx(const std::string& domain, const std::vector<std::string>& servers, int timeout_ms = 5000);

}  // namespace homthu::smtp::client
