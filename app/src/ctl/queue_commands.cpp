#include "ctl/command.hpp"

namespace homthu::ctl {

std::vector<command> queue_commands() { return {}; }

}  // namespace homthu::ctl
