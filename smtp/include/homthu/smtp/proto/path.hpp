#pragma once
// Envelope addresses: RFC 5321 §4.1.2 Path syntax with RFC 6531 (SMTPUTF8)
// extensions, and the limits of §4.5.3.1. Pure functions, no I/O.

#include "homthu/smtp/proto/reply.hpp"

#include <string>
#include <string_view>

namespace homthu::smtp::proto {

// RFC 5321 §4.5.3.1.1–3.
inline constexpr std::size_t max_local_part = 64;
inline constexpr std::size_t max_domain = 255;
inline constexpr std::size_t max_path = 256;

struct mailbox {
  std::string local;          // the local part with quoting removed
  std::string domain;         // a domain (as sent) or an address literal with brackets
  bool quoted = false;        // the local part was a Quoted-string
  bool literal = false;       // domain is an address literal "[…]"

  bool empty() const { return local.empty() && domain.empty(); }
  // "local@domain" with the local part re-quoted when it needs quoting:
  // safe to put inside <> in a header or an SMTP command.
  std::string str() const;
  // Lowercased "local@domain" for directory lookups and comparisons.
  std::string canonical() const;
};

struct path_options {
  bool allow_null = false;        // "<>" (reverse-path, RFC 5321 §4.1.1.2)
  bool allow_postmaster = false;  // "<Postmaster>" without a domain (§4.1.1.3)
  bool utf8 = false;              // RFC 6531 §3.3: UTF-8 in local part and domain
};

// Parses "<...>" at the start of `in`; on success sets `consumed` to the
// bytes used (up to and including '>'). A source route (A-d-l) is accepted
// and dropped (§4.1.1.3, §C). `<>` gives an empty mailbox. A bare Postmaster
// gives local "Postmaster" and an empty domain.
// Errors: 501 5.1.3 (5.1.7 for senders) on bad syntax or a path over the limits.
result<mailbox> parse_path(std::string_view in, const path_options& opts, std::size_t& consumed,
                           bool sender);

bool is_valid_domain(std::string_view d, bool utf8);
bool is_valid_address_literal(std::string_view lit);  // with brackets
bool is_valid_utf8(std::string_view s);

}  // namespace homthu::smtp::proto
