// HELP argument (RFC 5321 §4.1.1.8): an optional topic, ignored.
#include "homthu/smtp/proto/command.hpp"

namespace homthu::smtp::proto {

result<help_args> parse_help(std::string_view rest) { return help_args{std::string(rest)}; }

}  // namespace homthu::smtp::proto
