// VRFY argument (RFC 5321 §4.1.1.6). We never confirm addresses (it would
// hand the directory to address harvesters), so the argument is only checked
// to be present.
#include "homthu/smtp/proto/command.hpp"

namespace homthu::smtp::proto {

result<vrfy_args> parse_vrfy(std::string_view rest) {
  if (rest.empty()) {
    return make_reply(501, "5.5.4", "Syntax: VRFY address");
  }
  return vrfy_args{std::string(rest)};
}

}  // namespace homthu::smtp::proto
