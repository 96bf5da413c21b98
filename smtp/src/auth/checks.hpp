#pragma once
// Inbound message authentication: SPF (RFC 7208, libspf2), DKIM (RFC 6376,
// libopendkim, see dkim.hpp) and DMARC (RFC 7489, our own alignment check),
// and the Authentication-Results field that records them (RFC 8601).
// Blocking (DNS through the resolver): call on the worker pool.

#include "dkim.hpp"
#include "homthu/smtp/dns.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace homthu::smtp::auth {

struct spf_result {
  std::string result = "none";   // pass fail softfail neutral none temperror permerror
  std::string domain;            // the identity checked: MAIL FROM domain, or HELO for <>
  bool helo_identity = false;
};

// RFC 7208 check_host() for the MAIL FROM identity (HELO when `sender` is
// empty, §2.4).
spf_result check_spf(dns_resolver& dns, const std::string& ip, const std::string& helo, const std::string& sender);

// The organizational domain (RFC 7489 §3.2) by the Public Suffix List.
class public_suffixes {
 public:
  // Reads the list (Debian's publicsuffix package); a missing file leaves
  // only the default rule "*", i.e. the last label is the public suffix.
  explicit public_suffixes(const std::string& path = "/usr/share/publicsuffix/public_suffix_list.dat");
  std::string organizational_domain(std::string domain) const;

 private:
  std::vector<std::string> rules_;   // sorted, lower case; "*.x" and "!x" kept as written
  bool has(const std::string& r) const;
};

struct dmarc_result {
  std::string result = "none";   // pass fail none temperror permerror
  std::string from_domain;
  std::string policy;            // none quarantine reject (the one that applies)
  bool sampled = true;           // pct= chose this message for the policy
};

dmarc_result check_dmarc(dns_resolver& dns, const public_suffixes& psl, const std::string& from_domain,
                         const spf_result& spf, const dkim_verdict& dkim);

// RFC 8601 §3 "iprev" (the reverse-DNS check of RFC 8601 §2.7.3, what
// Postfix's reject_unknown_client_hostname tests): the client address's PTR
// names (at most 10), each looked up forward; pass when one of them leads
// back to the address.
struct iprev_result {
  std::string result = "permerror";  // pass fail temperror permerror
  std::string ip;                    // policy.iprev
  std::string name;                  // the confirmed name (pass) or the first PTR name
};

// The PTR owner name of an address: "4.3.2.1.in-addr.arpa", or the
// nibble form under ip6.arpa (RFC 3596 §2.5). Empty for a non-address.
std::string reverse_name(const std::string& ip);

iprev_result check_iprev(dns_resolver& dns, const std::string& ip);

// One "Authentication-Results: …\r\n" field (RFC 8601 §2.2) with our
// authserv-id; every value is reduced to safe characters. `iprev` is
// left out when null (mail from an authenticated or trusted client).
std::string authentication_results(const std::string& authserv_id, const spf_result& spf, const dkim_verdict& dkim,
                                   const dmarc_result& dmarc, const iprev_result* iprev = nullptr);

// Streams a message's content and drops the header fields
// "Authentication-Results" whose authserv-id is ours (RFC 8601 §5: a
// receiver must not trust such fields from outside). Everything else passes
// unchanged; after the header block the filter is a pass-through.
class results_filter {
 public:
  explicit results_filter(std::string authserv_id);
  // Appends the filtered form of `in` to `out`.
  void feed(std::string_view in, std::string& out);
  // End of content: releases what is still held.
  void finish(std::string& out);
  unsigned removed() const { return removed_; }
  // Past the header block: feed() would only copy.
  bool passthrough() const { return !in_header_; }

 private:
  void end_field(std::string& out);
  std::string id_;
  std::string line_;       // the incomplete current line
  std::string field_;      // the current header field (complete lines)
  bool in_header_ = true;
  unsigned removed_ = 0;
};

}  // namespace homthu::smtp::auth
