#pragma once
// ESMTP parameters (RFC 5321 §4.1.2 Mail-parameters / Rcpt-parameters),
// shared by the MAIL and RCPT argument parsers.

#include "homthu/smtp/proto/reply.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace homthu::smtp::proto::detail {

struct esmtp_param {
  std::string keyword;   // upper-cased
  std::string value;     // as sent; empty when absent
  bool has_value = false;
};

// Splits "KEY=VALUE KEY2" (after the path). Errors 501 5.5.4 on bad syntax,
// 555 5.5.4 on a repeated keyword (RFC 5321 §4.1.1.11).
result<std::vector<esmtp_param>> parse_params(std::string_view in);

std::string upper(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);

}  // namespace homthu::smtp::proto::detail
