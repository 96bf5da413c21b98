#include "ctl/command.hpp"

namespace homthu::ctl {

std::vector<command> storage_commands() { return {}; }

}  // namespace homthu::ctl
