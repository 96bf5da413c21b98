// BDAT arguments (RFC 3030 §2): "BDAT" SP chunk-size [SP "LAST"]. Input:
// untrusted; the size never overflows (at most 19 digits).
#include "homthu/smtp/proto/command.hpp"

#include "../params.hpp"

#include <charconv>

namespace homthu::smtp::proto {

result<bdat_args> parse_bdat(std::string_view rest) {
  bdat_args b;
  auto sp = rest.find(' ');
  auto num = rest.substr(0, sp);
  if (num.empty() || num.size() > 19) {
    return make_reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
  }
  auto [ptr, ec] = std::from_chars(num.data(), num.data() + num.size(), b.size);
  if (ec != std::errc{} || ptr != num.data() + num.size()) {
    return make_reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
  }
  if (sp != std::string_view::npos) {
    if (!detail::iequals(rest.substr(sp + 1), "LAST")) {
      return make_reply(501, "5.5.4", "Syntax: BDAT size [LAST]");
    }
    b.last = true;
  }
  return b;
}

}  // namespace homthu::smtp::proto
